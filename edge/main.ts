/**
 * Process entry of the edge (`npm run edge`): reads the environment, starts
 * the listeners, logs where each is bound, stops cleanly on SIGINT/SIGTERM.
 */
import { configOrExit } from '../shared/config/env';
import { edgeFromEnvironment, logAddresses } from './environment';
import { startEdge } from './index';

async function main(): Promise<void> {
  const { options, log, controlTls } = configOrExit('edge', edgeFromEnvironment);
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
