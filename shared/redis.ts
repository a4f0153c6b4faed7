import Redis, { RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis client speaking RESP2. Commands fail fast while Redis is unreachable
 * (no unbounded offline queue), so callers answer 503 instead of hanging.
 */
export function createRedis(redisUrl: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(redisUrl, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
    ...extra,
  });
  // Connection errors are reported through command failures and /readyz; without a listener they would be thrown.
  client.on('error', () => undefined);
  return client;
}
