// `npm run provisioning`: the provisioning server process (docs/provisioning.md).
import { configOrExit } from '../shared/config/env';
import { createLogger } from '../shared/logger';
import { loadProvisioningConfig } from './config';
import { startProvisioning } from './index';

async function main(): Promise<void> {
  const config = configOrExit('provisioning', loadProvisioningConfig);
  const log = createLogger('provisioning', config.LOG_LEVEL);
  const server = await startProvisioning({ config, log });
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'provisioning stopping');
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`provisioning: ${err.message}\n`);
  process.exit(1);
});
