import type { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';
import type { Pool } from 'pg';
import { CredentialCipher } from '../shared/credentials';
import { createPool } from '../shared/db';
import { createLogger, Logger } from '../shared/logger';
import { createRedis, Redis } from '../shared/redis';
import { RegistrationStore } from '../shared/registration-store';
import { SipBlocks } from '../shared/sip-blocks';
import { createApp } from './app';
import { ApiConfig, loadApiConfig } from './config';
import { purgeDeviceTombstones } from './devices-repo';


/** Options of startApi; anything not given is built from `config` (and closed by stop()). */
export interface StartApiOptions {
  readonly config?: ApiConfig;
  readonly log?: Logger;
  readonly pool?: Pool;
  readonly redis?: Redis;
  readonly cipher?: CredentialCipher;
  /** Overrides API_HOST / API_PORT (tests pass port 0). */
  readonly host?: string;
  readonly port?: number;
  readonly now?: () => number;
}

/** A running API. */
export interface RunningApi {
  readonly address: { address: string; port: number };
  /** Stops listening, closes connections and the clients it created. Safe to call twice. */
  stop(): Promise<void>;
}

/** How long stop() lets in-flight requests finish before closing their connections. */
const SHUTDOWN_GRACE_MS = 5000;

/** How often each API process purges device tombstones past DEVICE_TOMBSTONE_RETENTION_DAYS (also once at start). */
const TOMBSTONE_PURGE_INTERVAL_MS = 3_600_000;

/** Starts the API server; resolves once it listens. */
export async function startApi(options: StartApiOptions = {}): Promise<RunningApi> {
  const config = options.config ?? loadApiConfig();
  const log = options.log ?? createLogger('api', config.LOG_LEVEL);
  const ownPool = !options.pool;
  const ownRedis = !options.redis;
  const pool = options.pool ?? createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE });
  // Auto-pipelining batches the Redis reads of concurrent requests into one write: fewer syscalls per request.
  const redis = options.redis ?? createRedis(config.REDIS_URL, { enableAutoPipelining: true });
  const cipher = options.cipher ?? CredentialCipher.fromEnvOrLocal({ keys: config.CREDENTIAL_KEYS, activeKeyId: config.CREDENTIAL_ACTIVE_KEY_ID, dataDir: config.DATA_DIR, log });
  const app = createApp({
    pool,
    redis,
    registrations: new RegistrationStore(redis, { prefix: config.REDIS_KEY_PREFIX, now: options.now }),
    sipBlocks: new SipBlocks(redis, { prefix: config.REDIS_KEY_PREFIX, now: options.now }),
    cipher,
    config,
    log,
    now: options.now,
  });
  const server: Server = createServer(app);
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.API_PORT, options.host ?? config.API_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;

  // Device tombstones past their retention: a bounded purge at start and then hourly. Every
  // process may run it (concurrent purges skip each other's rows); a failure waits for the next pass.
  let purging: Promise<void> = Promise.resolve();
  const purge = (): void => {
    purging = purging.then(() =>
      purgeDeviceTombstones(pool, config.DEVICE_TOMBSTONE_RETENTION_DAYS).then(
        (n) => {
          if (n > 0) log.info({ purged: n, retentionDays: config.DEVICE_TOMBSTONE_RETENTION_DAYS }, 'device tombstones purged');
        },
        (err: Error) => log.warn({ err: { message: err.message } }, 'device tombstone purge failed; retried at the next pass'),
      ),
    );
  };
  purge();
  const purgeTimer = setInterval(purge, TOMBSTONE_PURGE_INTERVAL_MS);
  purgeTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(purgeTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      await purging;
      if (ownPool) await pool.end().catch(() => undefined);
      if (ownRedis) await redis.quit().catch(() => undefined);
    })();
    return stopping;
  };
  return { address: { address: info.address, port: info.port }, stop };
}
