import type { Pool } from 'pg';
import { createPool } from '../shared/db';
import type { Logger } from '../shared/logger';
import { coalesceWrites } from '../shared/coalesce-writes';
import { commonSection } from '../shared/config/common';
import { parseSection } from '../shared/config/env';
import { registrarSection } from '../shared/config/registrar';
import { EventWriter } from '../shared/events/event-writer';
import { Cluster } from 'ioredis';
import { createRedis, Redis, redisTarget } from '../shared/redis';
import { RegistrationStore } from '../shared/registration-store';
import { SipBlocks } from '../shared/sip-blocks';
import { CredentialCache, DomainSet } from './credential-cache';
import { NonceService } from '../shared/digest';
import { DrachtioAdapter, type EngineConnection } from './drachtio-adapter';
import { jitteredRetryAfter } from './errors';
import type { Outcome } from './sip-types';
import { startHealthServer } from './http-server';
import { RegistrarMetrics } from './metrics';
import { RegisterHandler } from './register-handler';
import { RegistrationEvents } from './registration-events';

/** The documented defaults (shared/config/) for options a caller leaves out. */
const DEFAULTS = { ...parseSection(commonSection, {}), ...parseSection(registrarSection, {}) };

export type { EngineConnection } from './drachtio-adapter';

/** Everything startRegistrar needs; main.ts fills it from the environment, tests directly. */
export interface RegistrarOptions {
  databaseUrl: string;
  /** PostgreSQL schema (tests isolate themselves this way). */
  databaseSchema?: string;
  databasePoolSize?: number;
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES): overrides redisUrl. */
  redisClusterNodes?: readonly string[];
  redisKeyPrefix: string;
  engine: EngineConnection;
  /** Further engines to connect to as well (REGISTRAR_EXTRA_ENGINES): requests from each are answered on it. */
  extraEngines?: readonly EngineConnection[];
  http: { host: string; port: number };
  defaultDomain: string;
  nonceSecret: string;
  log: Logger;
  now?: () => number;
  minExpires?: number;
  defaultExpires?: number;
  maxExpires?: number;
  maxBindings?: number;
  maxBindingsPolicy?: 'drop-oldest' | 'reject';
  nonceLifetimeS?: number;
  md5Only?: boolean;
  blockWindowS?: number;
  blockSourceThreshold?: number;
  blockUserThreshold?: number;
  blockDurationS?: number;
  blockedResponse?: 'drop' | '403';
  credentialCacheTtlMs?: number;
  credentialNegativeTtlMs?: number;
  credentialCacheMax?: number;
  domainRefreshMs?: number;
  reaperIntervalMs?: number;
  retryAfterS?: number;
  /** Requests handled at once before new ones are answered 503 with Retry-After (REGISTRAR_MAX_IN_FLIGHT). */
  maxInFlight?: number;
  /** Comma-separated User-Agent fragments. */
  scannerUserAgents?: string;
  eventFlushMs?: number;
  eventQueueMax?: number;
  routineEvents?: 'changes' | 'all';
  unattributedEventsPerS?: number;
}

/** Most events one INSERT writes. */
const EVENT_BATCH_SIZE = 500;

/** How long stop() waits for queued events to be written. */
const EVENT_FLUSH_ON_STOP_MS = 2_000;

export interface RunningRegistrar {
  http: { address: string; port: number };
  /** True while connected to every engine it was given (/readyz needs only one). */
  readonly engineConnected: boolean;
  /**
   * Graceful stop (SIGTERM): the engine is asked to route elsewhere, the requests in flight
   * are answered (at most `timeoutMs`), then stop().
   */
  shutdown(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts one registrar process: connects to the SIP engine, Redis and
 * PostgreSQL, serves REGISTER/OPTIONS, reaps expired bindings, and answers
 * health and metrics on HTTP. Returns once HTTP listens (the engine connection
 * keeps retrying in the background; /readyz says when it is up).
 */
export async function startRegistrar(opts: RegistrarOptions): Promise<RunningRegistrar> {
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const retryAfterS = opts.retryAfterS ?? DEFAULTS.REGISTRAR_RETRY_AFTER_S;
  const pool: Pool = createPool(opts.databaseUrl, { max: opts.databasePoolSize ?? DEFAULTS.DATABASE_POOL_SIZE, schema: opts.databaseSchema });
  // No auto-pipelining (ioredis enableAutoPipelining): it saves socket writes, but in ioredis 5
  // each finished auto-pipeline stays referenced from the next one, so every pipeline, its
  // commands and their replies survive young-generation GC and are promoted. Measured at 1,000
  // registrations/s: 0.9 MB promoted per scavenge with it, 14 KB without; a mark-compact every
  // ~2 s instead of a few a minute; full-registration p99 30 ms with it, 8 ms without.
  const target = redisTarget({ REDIS_URL: opts.redisUrl, REDIS_CLUSTER_NODES: opts.redisClusterNodes });
  const redis: Redis = createRedis(target, { enableAutoPipelining: false });
  // What auto-pipelining was for: commands of one event-loop turn share one socket write
  // (on a Cluster, the connection to each node).
  const asCluster = redis as unknown;
  if (asCluster instanceof Cluster) asCluster.on('+node', (node: Redis) => node.on('connect', () => coalesceWrites(node.stream)));
  else redis.on('connect', () => coalesceWrites(redis.stream));
  const subscriber: Redis = createRedis(target);
  const store = new RegistrationStore(redis, { prefix: opts.redisKeyPrefix, now });
  const blocks = new SipBlocks(redis, {
    prefix: opts.redisKeyPrefix,
    now,
    policy: {
      windowMs: (opts.blockWindowS ?? DEFAULTS.REGISTRAR_BLOCK_WINDOW_S) * 1000,
      sourceThreshold: opts.blockSourceThreshold ?? DEFAULTS.REGISTRAR_BLOCK_SOURCE_THRESHOLD,
      userThreshold: opts.blockUserThreshold ?? DEFAULTS.REGISTRAR_BLOCK_USER_THRESHOLD,
      blockMs: (opts.blockDurationS ?? DEFAULTS.REGISTRAR_BLOCK_DURATION_S) * 1000,
    },
  });
  const credentials = new CredentialCache(pool, {
    ttlMs: opts.credentialCacheTtlMs ?? DEFAULTS.REGISTRAR_CREDENTIAL_CACHE_TTL_MS,
    negativeTtlMs: opts.credentialNegativeTtlMs ?? DEFAULTS.REGISTRAR_CREDENTIAL_NEGATIVE_TTL_MS,
    maxEntries: opts.credentialCacheMax ?? DEFAULTS.REGISTRAR_CREDENTIAL_CACHE_MAX,
    retryAfterS,
    now,
  });
  const domains = new DomainSet(pool, opts.defaultDomain, opts.domainRefreshMs ?? DEFAULTS.REGISTRAR_DOMAIN_REFRESH_MS, now);
  const metrics = new RegistrarMetrics();
  // Events go to PostgreSQL in the background, in batches: no REGISTER waits for them.
  const writer = new EventWriter(pool, {
    flushIntervalMs: opts.eventFlushMs ?? DEFAULTS.REGISTRAR_EVENT_FLUSH_MS,
    batchSize: EVENT_BATCH_SIZE,
    maxQueued: opts.eventQueueMax ?? DEFAULTS.REGISTRAR_EVENT_QUEUE_MAX,
    log,
    onWritten: (n) => metrics.eventsWritten.inc(n),
    onDropped: (reason, n) => metrics.eventsDropped.inc({ reason }, n),
  });
  const events = new RegistrationEvents(writer, {
    routine: opts.routineEvents ?? DEFAULTS.REGISTRAR_ROUTINE_EVENTS,
    unattributedPerS: opts.unattributedEventsPerS ?? DEFAULTS.REGISTRAR_UNATTRIBUTED_EVENTS_PER_S,
    now,
    onRateLimited: () => metrics.eventsDropped.inc({ reason: 'rate_limited' }),
  });
  const nonceLifetimeMs = (opts.nonceLifetimeS ?? DEFAULTS.REGISTRAR_NONCE_LIFETIME_S) * 1000;
  const handler = new RegisterHandler(
    { store, blocks, credentials, domains, nonces: new NonceService(opts.nonceSecret, nonceLifetimeMs), metrics, events, log, now },
    {
      expiry: { minExpires: opts.minExpires ?? DEFAULTS.REGISTRAR_MIN_EXPIRES, defaultExpires: opts.defaultExpires ?? DEFAULTS.REGISTRAR_DEFAULT_EXPIRES, maxExpires: opts.maxExpires ?? DEFAULTS.REGISTRAR_MAX_EXPIRES },
      limits: { maxBindings: opts.maxBindings ?? DEFAULTS.REGISTRAR_MAX_BINDINGS, policy: opts.maxBindingsPolicy ?? DEFAULTS.REGISTRAR_MAX_BINDINGS_POLICY },
      nonceLifetimeMs,
      md5Only: opts.md5Only ?? DEFAULTS.REGISTRAR_MD5_ONLY,
      blockedResponse: opts.blockedResponse ?? DEFAULTS.REGISTRAR_BLOCKED_RESPONSE,
      retryAfterS,
      scannerUserAgents: (opts.scannerUserAgents ?? DEFAULTS.REGISTRAR_SCANNER_USER_AGENTS)
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
    },
  );

  // Credential invalidations from the API; after a reconnection some may have been missed, so every entry is re-read.
  let subscribedOnce = false;
  subscriber.on('ready', () => {
    if (subscribedOnce) credentials.expireAll();
    subscribedOnce = true;
  });
  store.subscribeInvalidations(subscriber, (inv) => credentials.invalidate(inv)).catch((err: Error) => {
    log.warn({ err: err.message }, 'could not subscribe to credential invalidations yet (ioredis resubscribes on reconnect)');
  });

  // Brute-force blocks mirrored in memory: checking a source costs no Redis round trip.
  blocks.startMirror(subscriber).catch((err: Error) => {
    log.warn({ err: err.message }, 'could not load SIP blocks yet (retried when Redis is back)');
  });

  // One connection per engine (a drachtio-srf Srf holds one): several edges or drachtio-servers
  // can hand this registrar their REGISTERs; each answer goes back on the connection it came from.
  // Load shedding: past maxInFlight requests being handled (over every engine), a new one is
  // answered 503 with a jittered Retry-After at once (RFC 3261 §21.5.4), costing a parse and a
  // send instead of queueing behind the others until every answer comes too late.
  const maxInFlight = opts.maxInFlight ?? DEFAULTS.REGISTRAR_MAX_IN_FLIGHT;
  const overload = (): Outcome | null => {
    if (adapters.reduce((n, a) => n + a.pending, 0) < maxInFlight) return null;
    metrics.shed.inc();
    return { kind: 'reply', status: 503, reason: 'Service Unavailable', headers: [['Retry-After', String(jitteredRetryAfter(retryAfterS))]] };
  };
  const adapters: DrachtioAdapter[] = [opts.engine, ...(opts.extraEngines ?? [])].map(
    (engine) =>
      new DrachtioAdapter(engine, {
        register: (req) => handler.handleRegister(req),
        options: (req) => handler.handleOptions(req),
        onRegisterDone: (s) => metrics.latency.observe(s),
        overload,
      }, metrics, log),
  );
  const connectedEngines = (): number => adapters.filter((a) => a.connected).length;

  metrics.addGauge('registrar_registered_devices', 'Devices with at least one live binding (size of the reaper index).', () => store.countIndexed());
  metrics.addGauge('registrar_engine_connected', 'SIP engines this registrar is connected to (1 with one engine, while connected).', () => Promise.resolve(connectedEngines()));
  metrics.addGauge('registrar_credential_cache_entries', 'Cached device credentials in this process.', () => Promise.resolve(credentials.size));
  metrics.addGauge('registrar_events_queued', 'Events waiting to be written to PostgreSQL.', () => Promise.resolve(writer.queued));

  // The reaper: expired bindings out, `expired` events in. Runs in every process; the store makes that safe.
  let reaping = false;
  const reaper = setInterval(() => {
    if (reaping) return;
    reaping = true;
    store
      .reapExpired()
      .then((reaped) => {
        for (const { deviceId, binding } of reaped) {
          metrics.bindingChanges.inc({ type: 'expired' });
          events.expired(deviceId, binding);
        }
      })
      .catch((err: Error) => log.debug({ err: err.message }, 'reaper pass failed (Redis unavailable?)'))
      .finally(() => {
        reaping = false;
      });
  }, opts.reaperIntervalMs ?? DEFAULTS.REGISTRAR_REAPER_INTERVAL_MS);
  reaper.unref();

  void domains.refresh();
  let http: Awaited<ReturnType<typeof startHealthServer>>;
  try {
    http = await startHealthServer({
      host: opts.http.host,
      port: opts.http.port,
      metrics: () => metrics.render(),
      checks: {
        // Ready while at least one engine can reach it.
        engine: () => Promise.resolve(connectedEngines() > 0),
        redis: async () => (await redis.ping()) === 'PONG',
        postgres: async () => (await pool.query('SELECT 1')).rowCount === 1,
      },
    });
  } catch (err) {
    clearInterval(reaper);
    await writer.stop(0);
    blocks.stopMirror();
    redis.disconnect();
    subscriber.disconnect();
    await pool.end();
    throw err;
  }
  for (const a of adapters) a.connect();
  log.info({ http: `${http.address}:${http.port}`, engines: [opts.engine, ...(opts.extraEngines ?? [])].map((e) => `${e.host}:${e.port}`) }, 'registrar started');

  let stopping: Promise<void> | null = null;
  const running: RunningRegistrar = {
    http: { address: http.address, port: http.port },
    get engineConnected() {
      return connectedEngines() === adapters.length;
    },
    async shutdown(timeoutMs) {
      if (!stopping) {
        const left = (await Promise.all(adapters.map((a) => a.drain(timeoutMs)))).reduce((n, x) => n + x, 0);
        if (left > 0) log.warn({ requests: left }, 'stopping with requests still in flight (shutdown timeout)');
        else log.info('drained: no request in flight');
      }
      return running.stop();
    },
    stop() {
      if (!stopping) {
        stopping = (async () => {
          clearInterval(reaper);
          blocks.stopMirror();
          for (const a of adapters) a.stop();
          http.server.closeAllConnections();
          await new Promise<void>((resolve) => http.server.close(() => resolve()));
          await writer.stop(EVENT_FLUSH_ON_STOP_MS);
          subscriber.disconnect();
          redis.disconnect();
          await pool.end().catch(() => undefined);
          log.info('registrar stopped');
        })();
      }
      return stopping;
    },
  };
  return running;
}
