import type { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';
import type { Pool } from 'pg';
import { CredentialCipher } from '../shared/credentials';
import { createPool } from '../shared/db';
import { EventNotifications } from '../shared/events/event-notifications';
import { oldestTransactionAge } from '../shared/events/event-store';
import { secretOrLocal } from '../shared/local-secrets';
import { createLogger, Logger } from '../shared/logger';
import { createRedis, Redis, redisTarget } from '../shared/redis';
import { RegistrationStore } from '../shared/registration-store';
import { SipBlocks } from '../shared/sip-blocks';
import { ApiKeyVerifier } from './api-keys';
import { createApp } from './app';
import { ApiConfig, loadApiConfig } from './config';
import { purgeDeviceTombstones } from './devices-repo';
import { AuditLog } from './events/audit';
import { EventHub } from './events/event-hub';
import { runEventRetention } from './events/event-retention';
import { ApiMetrics } from './metrics';
import { startMetricsServer } from '../shared/metrics';
import { pendingDeliveries } from './webhooks/webhooks-repo';
import { WebhookWorker } from './webhooks/webhook-worker';


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
  /** Overrides API_METRICS_PORT; null: no metrics listener (tests that do not read metrics). */
  readonly metricsPort?: number | null;
  readonly now?: () => number;
  /** Folder of the built console; default dist/console-assets (api/console-route.ts). */
  readonly consoleDir?: string | null;
}

/** A running API. */
export interface RunningApi {
  readonly address: { address: string; port: number };
  /** Port of the metrics listener, null when there is none. */
  readonly metricsPort: number | null;
  /** Stops listening, closes connections and the clients it created. Safe to call twice. */
  stop(): Promise<void>;
}

/** How long stop() lets in-flight requests finish before closing their connections. */
const SHUTDOWN_GRACE_MS = 5000;

/** How often each API process purges device tombstones and expired events (also once at start). */
const PURGE_INTERVAL_MS = 3_600_000;

/** How often open event streams read the events table when no notification woke them, ms. */
const STREAM_POLL_MS = 1_000;

/** Starts the API server; resolves once it listens. */
export async function startApi(options: StartApiOptions = {}): Promise<RunningApi> {
  const config = options.config ?? loadApiConfig();
  const log = options.log ?? createLogger('api', config.LOG_LEVEL);
  const ownPool = !options.pool;
  const ownRedis = !options.redis;
  const pool = options.pool ?? createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE });
  // Auto-pipelining batches the Redis reads of concurrent requests into one write: fewer syscalls per request.
  const redis = options.redis ?? createRedis(redisTarget(config), { enableAutoPipelining: true });
  const cipher = options.cipher ?? CredentialCipher.fromEnvOrLocal({ keys: config.CREDENTIAL_KEYS, activeKeyId: config.CREDENTIAL_ACTIVE_KEY_ID, dataDir: config.DATA_DIR, log });
  const metrics = new ApiMetrics();
  const verifier = new ApiKeyVerifier(pool, { cacheTtlMs: config.API_KEY_CACHE_TTL_MS, cacheMax: config.API_KEY_CACHE_MAX, adminKey: config.ADMIN_API_KEY, now: options.now });
  // Readers of the events table wake on NOTIFY from its writers; the schema tells this stack's apart.
  const schema = await pool
    .query<{ s: string }>('SELECT current_schema() AS s')
    .then((r) => r.rows[0]?.s ?? 'public')
    .catch(() => 'public');
  const notifications = new EventNotifications(config.DATABASE_URL, schema, log);
  const hub = new EventHub(pool, notifications, {
    heartbeatMs: config.API_SSE_HEARTBEAT_S * 1000,
    maxClients: config.API_SSE_MAX_CLIENTS,
    maxPerAccount: config.API_SSE_MAX_PER_ACCOUNT,
    pollMs: STREAM_POLL_MS,
    activeKeys: (ids) => verifier.activeKeyIds(ids),
    onClients: (n) => metrics.sseClients.set(n),
    log,
  });
  const webhooks = new WebhookWorker(pool, cipher, notifications, metrics, log, {
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    perWebhook: config.WEBHOOK_CONCURRENCY,
    maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    retryMaxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_MS,
    retryForMs: config.WEBHOOK_RETRY_FOR_S * 1000,
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000,
    pollMs: config.WEBHOOK_POLL_MS,
    now: options.now,
  });
  metrics.addGauge('api_events_oldest_transaction_seconds', 'Age of the oldest transaction on the PostgreSQL server holding a transaction id: event streams and webhook dispatch wait behind it (docs/operations.md).', () => oldestTransactionAge(pool));
  metrics.addGauge('api_webhook_pending_deliveries', 'Webhook deliveries waiting for an attempt or a retry (all processes).', () => pendingDeliveries(pool));
  const app = createApp({
    pool,
    redis,
    registrations: new RegistrationStore(redis, { prefix: config.REDIS_KEY_PREFIX, now: options.now }),
    sipBlocks: new SipBlocks(redis, { prefix: config.REDIS_KEY_PREFIX, now: options.now }),
    cipher,
    config,
    log,
    verifier,
    audit: new AuditLog(pool, { written: (n) => metrics.eventsWritten.inc(n), dropped: (n) => metrics.eventsDropped.inc(n) }, log, options.now),
    hub,
    metrics,
    streamTokenSecret: secretOrLocal(config.API_STREAM_TOKEN_SECRET, { variable: 'API_STREAM_TOKEN_SECRET', dataDir: config.DATA_DIR, fileName: 'stream-token-secret', log }),
    now: options.now,
    consoleDir: options.consoleDir,
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
  const metricsPort = options.metricsPort !== undefined ? options.metricsPort : config.API_METRICS_PORT;
  const metricsServer = metricsPort === null ? null : await startMetricsServer(metrics.registry, config.API_METRICS_HOST, metricsPort).catch(async (err: Error) => {
    server.close();
    throw err;
  });
  notifications.start();
  webhooks.wake();

  // Device tombstones and events past their retention: a bounded purge at start and then hourly
  // (with the next days' event partitions). Every process may run it (concurrent purges skip each
  // other's rows or wait for its lock); a failure waits for the next pass.
  let purging: Promise<void> = Promise.resolve();
  const purge = (): void => {
    purging = purging.then(async () => {
      await purgeDeviceTombstones(pool, config.DEVICE_TOMBSTONE_RETENTION_DAYS).then(
        (n) => {
          if (n > 0) log.info({ purged: n, retentionDays: config.DEVICE_TOMBSTONE_RETENTION_DAYS }, 'device tombstones purged');
        },
        (err: Error) => log.warn({ err: { message: err.message } }, 'device tombstone purge failed; retried at the next pass'),
      );
      await runEventRetention(pool, config.EVENT_RETENTION_DAYS, log);
    });
  };
  purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
  purgeTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(purgeTimer);
      hub.close(); // event streams end cleanly (clients reconnect elsewhere with Last-Event-ID)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      await webhooks.stop(SHUTDOWN_GRACE_MS);
      await notifications.stop();
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
      await purging;
      if (ownPool) await pool.end().catch(() => undefined);
      if (ownRedis) await redis.quit().catch(() => undefined);
    })();
    return stopping;
  };
  return { address: { address: info.address, port: info.port }, metricsPort: metricsServer?.port ?? null, stop };
}
