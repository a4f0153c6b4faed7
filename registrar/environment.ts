/**
 * The registrar's options from the environment (registrar/main.ts, and embedded/main.ts which
 * runs the edge and the registrar in one process). Throws ConfigError on a bad setting.
 */
import { commonSection } from '../shared/config/common';
import { drachtioSection } from '../shared/config/drachtio';
import { parseSection } from '../shared/config/env';
import { registrarSection } from '../shared/config/registrar';
import { secretOrLocal } from '../shared/local-secrets';
import { createLogger } from '../shared/logger';
import type { RegistrarOptions } from './index';

/**
 * drachtio-srf 5.0.29 reads `process.env.DRACHTIO_PRESERVE_HEADER_NAMES` once per
 * header of every SIP message it parses (lib/sip-parser/parser.js getHeaderName),
 * and each read of Node's process.env goes through a native interceptor: about a
 * twentieth of the registrar's CPU at load. A plain-object copy answers the same
 * reads for the life of this process at the cost of a property lookup. For process
 * entries only (registrar/main.ts, embedded/main.ts), never in code that other
 * processes import.
 */
export function usePlainEnvironmentObject(): void {
  process.env = { ...process.env };
}

export function registrarFromEnvironment(): { options: RegistrarOptions; shutdownTimeoutMs: number } {
  const common = parseSection(commonSection);
  const drachtio = parseSection(drachtioSection);
  const cfg = parseSection(registrarSection);
  const log = createLogger('registrar', common.LOG_LEVEL);
  const engineSecret = secretOrLocal(drachtio.DRACHTIO_SECRET, { variable: 'DRACHTIO_SECRET', dataDir: common.DATA_DIR, fileName: 'drachtio-secret', log });
  const options: RegistrarOptions = {
    databaseUrl: common.DATABASE_URL,
    databasePoolSize: common.DATABASE_POOL_SIZE,
    redisUrl: common.REDIS_URL,
    redisClusterNodes: common.REDIS_CLUSTER_NODES,
    redisKeyPrefix: common.REDIS_KEY_PREFIX,
    defaultDomain: common.SIP_DEFAULT_DOMAIN,
    engine: { host: drachtio.DRACHTIO_HOST, port: drachtio.DRACHTIO_PORT, secret: engineSecret },
    extraEngines: (cfg.REGISTRAR_EXTRA_ENGINES ?? []).map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)), secret: engineSecret };
    }),
    http: { host: cfg.REGISTRAR_HTTP_HOST, port: cfg.REGISTRAR_HTTP_PORT },
    nonceSecret: secretOrLocal(cfg.REGISTRAR_NONCE_SECRET, { variable: 'REGISTRAR_NONCE_SECRET', dataDir: common.DATA_DIR, fileName: 'registrar-nonce-secret', log }),
    log,
    minExpires: cfg.REGISTRAR_MIN_EXPIRES,
    defaultExpires: cfg.REGISTRAR_DEFAULT_EXPIRES,
    maxExpires: cfg.REGISTRAR_MAX_EXPIRES,
    maxBindings: cfg.REGISTRAR_MAX_BINDINGS,
    maxBindingsPolicy: cfg.REGISTRAR_MAX_BINDINGS_POLICY,
    nonceLifetimeS: cfg.REGISTRAR_NONCE_LIFETIME_S,
    md5Only: cfg.REGISTRAR_MD5_ONLY,
    blockWindowS: cfg.REGISTRAR_BLOCK_WINDOW_S,
    blockSourceThreshold: cfg.REGISTRAR_BLOCK_SOURCE_THRESHOLD,
    blockUserThreshold: cfg.REGISTRAR_BLOCK_USER_THRESHOLD,
    blockDurationS: cfg.REGISTRAR_BLOCK_DURATION_S,
    blockedResponse: cfg.REGISTRAR_BLOCKED_RESPONSE,
    credentialCacheTtlMs: cfg.REGISTRAR_CREDENTIAL_CACHE_TTL_MS,
    credentialNegativeTtlMs: cfg.REGISTRAR_CREDENTIAL_NEGATIVE_TTL_MS,
    credentialCacheMax: cfg.REGISTRAR_CREDENTIAL_CACHE_MAX,
    domainRefreshMs: cfg.REGISTRAR_DOMAIN_REFRESH_MS,
    reaperIntervalMs: cfg.REGISTRAR_REAPER_INTERVAL_MS,
    retryAfterS: cfg.REGISTRAR_RETRY_AFTER_S,
    maxInFlight: cfg.REGISTRAR_MAX_IN_FLIGHT,
    scannerUserAgents: cfg.REGISTRAR_SCANNER_USER_AGENTS,
    eventFlushMs: cfg.REGISTRAR_EVENT_FLUSH_MS,
    eventQueueMax: cfg.REGISTRAR_EVENT_QUEUE_MAX,
    routineEvents: cfg.REGISTRAR_ROUTINE_EVENTS,
    unattributedEventsPerS: cfg.REGISTRAR_UNATTRIBUTED_EVENTS_PER_S,
  };
  return { options, shutdownTimeoutMs: cfg.REGISTRAR_SHUTDOWN_TIMEOUT_S * 1000 };
}
