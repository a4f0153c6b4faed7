import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Pool } from 'pg';
import { CredentialCipher } from '../shared/credentials';
import { createPool } from '../shared/db';
import { NonceService } from '../shared/digest';
import { EventWriter } from '../shared/events/event-writer';
import { secretOrLocal } from '../shared/local-secrets';
import { createLogger, Logger } from '../shared/logger';
import { startMetricsServer } from '../shared/metrics';
import { createRedis, Redis, redisTarget } from '../shared/redis';
import { SipBlocks } from '../shared/sip-blocks';
import { loadProvisioningConfig, ProvisioningConfig } from './config';
import { FetchHandler } from './fetch-handler';
import { ProvisioningMetrics } from './metrics';
import { NonceCounts } from './nonce-counts';
import { ProvisioningEvents } from './provisioning-events';

export interface StartProvisioningOptions {
  readonly config?: ProvisioningConfig;
  readonly log?: Logger;
  readonly pool?: Pool;
  readonly redis?: Redis;
  readonly cipher?: CredentialCipher;
  /** Overrides PROVISIONING_HOST / PROVISIONING_PORT (tests pass port 0). */
  readonly host?: string;
  readonly port?: number;
  /** Overrides PROVISIONING_METRICS_PORT; null: no metrics listener. */
  readonly metricsPort?: number | null;
  readonly now?: () => number;
}

export interface RunningProvisioning {
  readonly address: { address: string; port: number };
  readonly secure: boolean;
  readonly metricsPort: number | null;
  /** Stops listening, writes queued events, closes the clients it created. */
  stop(): Promise<void>;
}

/** Longest a phone may take to send its request (a slow client holds a socket, nothing more). */
const REQUEST_TIMEOUT_MS = 10_000;
const SHUTDOWN_GRACE_MS = 3_000;

/** Starts the provisioning server (docs/provisioning.md); resolves once it listens. */
export async function startProvisioning(options: StartProvisioningOptions = {}): Promise<RunningProvisioning> {
  const config = options.config ?? loadProvisioningConfig();
  const log = options.log ?? createLogger('provisioning', config.LOG_LEVEL);
  const now = options.now ?? Date.now;
  const pool = options.pool ?? createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE });
  const redis = options.redis ?? createRedis(redisTarget(config));
  const cipher = options.cipher ?? CredentialCipher.fromEnvOrLocal({ keys: config.CREDENTIAL_KEYS, activeKeyId: config.CREDENTIAL_ACTIVE_KEY_ID, dataDir: config.DATA_DIR, log });
  const nonceSecret = secretOrLocal(config.PROVISIONING_NONCE_SECRET, { variable: 'PROVISIONING_NONCE_SECRET', dataDir: config.DATA_DIR, fileName: 'provisioning-nonce-secret', log });
  const metrics = new ProvisioningMetrics();
  const writer = new EventWriter(pool, {
    flushIntervalMs: 200,
    batchSize: 500,
    maxQueued: 10_000,
    log,
    onWritten: (n) => metrics.eventsWritten.inc(n),
    onDropped: (reason, n) => metrics.eventsDropped.inc({ reason }, n),
  });
  const lifetimeMs = config.PROVISIONING_NONCE_LIFETIME_S * 1000;
  const handler = new FetchHandler({
    db: pool,
    cipher,
    nonces: new NonceService(nonceSecret, lifetimeMs),
    nonceCounts: new NonceCounts(redis, config.REDIS_KEY_PREFIX, lifetimeMs),
    blocks:
      config.PROVISIONING_FAILURE_LIMIT > 0
        ? new SipBlocks(redis, {
            prefix: `${config.REDIS_KEY_PREFIX}prov:`,
            now,
            policy: {
              windowMs: config.PROVISIONING_FAILURE_WINDOW_S * 1000,
              sourceThreshold: config.PROVISIONING_FAILURE_LIMIT,
              // Against one username from many sources: a higher bar, so one office behind a NAT cannot lock out another.
              userThreshold: config.PROVISIONING_FAILURE_LIMIT * 5,
              blockMs: config.PROVISIONING_BLOCK_S * 1000,
            },
          })
        : null,
    blockS: config.PROVISIONING_BLOCK_S,
    events: new ProvisioningEvents(writer, now, () => metrics.eventsDropped.inc({ reason: 'rate_limited' })),
    sip: config,
    realm: config.PROVISIONING_REALM,
    log,
    now,
    onOutcome: (outcome) => metrics.requests.inc({ outcome }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (config.PROVISIONING_TRUST_PROXY !== undefined) app.set('trust proxy', config.PROVISIONING_TRUST_PROXY);
  app.get('/livez', (_req, res) => void res.json({ status: 'ok' }));
  app.use((req, res) => {
    handler
      .handle({
        method: req.method,
        target: req.originalUrl,
        authorization: req.get('authorization'),
        userAgent: req.get('user-agent'),
        sourceIp: req.ip ?? req.socket.remoteAddress ?? '',
        secure: req.secure,
      })
      .then(
        (answer) => void res.status(answer.status).set(answer.headers).send(answer.body),
        (err: Error) => {
          log.warn({ err: err.message }, 'provisioning request failed');
          metrics.requests.inc({ outcome: 'unavailable' });
          res.status(503).set({ 'Retry-After': '30', 'Content-Type': 'text/plain; charset=utf-8' }).send('Temporarily unavailable; try again later.\n');
        },
      );
  });

  const tls = config.PROVISIONING_TLS_CERT && config.PROVISIONING_TLS_KEY;
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(config.PROVISIONING_TLS_CERT!), key: readFileSync(config.PROVISIONING_TLS_KEY!) }, app)
    : createHttpServer(app);
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.PROVISIONING_PORT, options.host ?? config.PROVISIONING_HOST, () => resolve());
  });
  const metricsPort = options.metricsPort !== undefined ? options.metricsPort : config.PROVISIONING_METRICS_PORT;
  const metricsServer =
    metricsPort === null
      ? null
      : await startMetricsServer(metrics.registry, config.PROVISIONING_METRICS_HOST, metricsPort).catch((err: Error) => {
          server.close();
          throw err;
        });
  const addr = server.address() as AddressInfo;
  log.info({ address: addr.address, port: addr.port, https: Boolean(tls) }, 'provisioning listening');

  let stopped: Promise<void> | null = null;
  return {
    address: { address: addr.address, port: addr.port },
    secure: Boolean(tls),
    metricsPort: metricsServer?.port ?? null,
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await closed;
        clearTimeout(force);
        metricsServer?.server.close();
        await writer.stop(SHUTDOWN_GRACE_MS);
        if (!options.redis) redis.disconnect();
        if (!options.pool) await pool.end();
      })()),
  };
}
