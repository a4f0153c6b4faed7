import { z } from 'zod';
import { defineSection, url, str, logLevel, positiveInt } from './env';

/** Settings every process reads: where the data lives, logging, the default SIP domain. */
export const commonSection = defineSection('Common (every process)', {
  DATABASE_URL: { schema: url, default: 'postgres://postgres@127.0.0.1:5432/sipreg', doc: 'PostgreSQL connection URL (source of truth: accounts, devices, keys).' },
  DATABASE_POOL_SIZE: { schema: positiveInt, default: '10', doc: 'Maximum PostgreSQL connections per process.' },
  REDIS_URL: { schema: url, default: 'redis://127.0.0.1:6379/0', doc: 'Redis connection URL (live registration state, invalidations, rate limits).' },
  REDIS_CLUSTER_NODES: {
    schema: z
      .string()
      .regex(/^\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\s*(,\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\s*)*$/, 'must be host:port[,host:port…]')
      .transform((v) => v.split(',').map((s) => s.trim())),
    doc: 'Seed nodes of a Redis Cluster, `host:port,host:port,…`: every component then uses the Cluster client. Overrides REDIS_URL. Unset: one Redis at REDIS_URL.',
  },
  REDIS_KEY_PREFIX: { schema: str.regex(/^[A-Za-z0-9:_-]+$/), default: 'sipreg:', doc: 'Prefix of every Redis key and channel this stack uses (lets several stacks share one Redis).' },
  LOG_LEVEL: { schema: logLevel, default: 'info', doc: 'pino log level.' },
  SIP_DEFAULT_DOMAIN: { schema: str.regex(/^[A-Za-z0-9.-]+$/, 'must be a host name').toLowerCase(), default: 'sip.example.com', doc: 'SIP domain (digest realm) given to accounts created without one (lower-cased, as every SIP domain is stored).' },
  DATA_DIR: { schema: str, default: '.data', doc: 'Directory for generated local secrets when none are configured (development only; git-ignored).' },
});
