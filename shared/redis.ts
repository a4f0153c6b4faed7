import Redis, { Cluster, RedisOptions } from 'ioredis';

export type { Redis };

/** Where Redis is: a URL (one server), or the seed nodes of a Redis Cluster (`host:port`). */
export type RedisTarget = string | { readonly clusterNodes: readonly string[] };

/** REDIS_CLUSTER_NODES when set (it overrides REDIS_URL), else REDIS_URL. */
export function redisTarget(config: { readonly REDIS_URL: string; readonly REDIS_CLUSTER_NODES?: readonly string[] | undefined }): RedisTarget {
  return config.REDIS_CLUSTER_NODES && config.REDIS_CLUSTER_NODES.length > 0 ? { clusterNodes: config.REDIS_CLUSTER_NODES } : config.REDIS_URL;
}

/** `host:port` (IPv6 in brackets) as ioredis's node form. */
function clusterNode(node: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$|^([^:]+):(\d+)$/.exec(node.trim());
  if (!m) throw new Error(`not a host:port Redis Cluster node: ${node}`);
  return { host: m[1] ?? m[3]!, port: Number(m[2] ?? m[4]) };
}

/**
 * A Redis client speaking RESP2: a single server, or ioredis's Cluster client when the
 * target names cluster nodes (every key a command touches must then be in one slot: the
 * stack's keys are laid out for that, docs/architecture.md). Commands fail fast while
 * Redis is unreachable (no unbounded offline queue), so callers answer 503 instead of
 * hanging. The Cluster client is returned under the same type: it has the same commands,
 * scripts (defineCommand), pipelines (one slot each) and pub/sub.
 */
export function createRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
    ...extra,
  };
  if (typeof target !== 'string') {
    const { enableAutoPipelining, enableOfflineQueue, ...redisOptions } = options;
    const cluster = new Cluster(target.clusterNodes.map(clusterNode), {
      redisOptions,
      enableAutoPipelining,
      enableOfflineQueue,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      // A failover moves slots: follow MOVED/ASK and refresh the map quickly.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 200,
      slotsRefreshTimeout: 2000,
      scaleReads: 'master',
    });
    cluster.on('error', () => undefined);
    return cluster as unknown as Redis;
  }
  const client = new Redis(target, options);
  // Connection errors are reported through command failures and /readyz; without a listener they would be thrown.
  client.on('error', () => undefined);
  return client;
}
