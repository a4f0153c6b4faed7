/**
 * Process entry of the edge (`npm run edge`): reads the environment, starts
 * the listeners, logs where each is bound, stops cleanly on SIGINT/SIGTERM.
 */
import { ConfigError } from '../shared/config/env';
import { edgeFromEnvironment, logAddresses } from './environment';
import { startEdge } from './index';

async function main(): Promise<void> {
  let env;
  try {
    env = edgeFromEnvironment();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { options, log, controlTls } = env;
  const running = await startEdge(options);
  logAddresses(log, running.addresses, controlTls);

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'edge stopping');
    running.stop().then(
      () => {
        log.info('edge stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'edge stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('edge failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
