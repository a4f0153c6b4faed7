// `npm run api`: the API process. Parses config, makes sure the database exists
// and is migrated, bootstraps a first account on an empty database, listens,
// and shuts down cleanly on SIGINT/SIGTERM.
import { configOrExit } from '../shared/config/env';
import { createPool } from '../shared/db';
import { createLogger } from '../shared/logger';
import { ensureDatabase, migrate } from '../shared/migrate';
import { bootstrap, bootstrapMessage } from './bootstrap';
import { loadApiConfig } from './config';
import { startApi } from './index';

async function main(): Promise<void> {
  const config = configOrExit('api', loadApiConfig);
  const log = createLogger('api', config.LOG_LEVEL);
  await ensureDatabase(config.DATABASE_URL, (u) => createPool(u, { max: 1 }));
  const pool = createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE });
  const applied = await migrate(pool);
  if (applied.length) log.info({ applied }, 'migrations applied');
  const boot = await bootstrap(pool, { sipDomain: config.SIP_DEFAULT_DOMAIN });

  const api = await startApi({ config, log, pool });
  const host = config.API_HOST === '0.0.0.0' || config.API_HOST === '::' ? '127.0.0.1' : config.API_HOST;
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${api.address.port}`;
  if (boot) {
    log.info({ accountId: boot.account.id, keyId: boot.adminKeyId }, 'bootstrap account and operator key created (key printed once on stdout)');
    process.stdout.write(bootstrapMessage(boot, baseUrl));
  }
  log.info({ address: api.address.address, port: api.address.port, url: `${baseUrl}/v2` }, 'api listening');

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'api stopping');
    api
      .stop()
      .then(() => pool.end())
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  console.error(`api: ${err.message}`);
  process.exit(1);
});
