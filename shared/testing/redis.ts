import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { createRedis, Redis } from '../redis';
import { testRedisUrl } from './env';

/** A Redis key prefix no other test file uses. */
export function testKeyPrefix(): string {
  return `t${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (bounded SCAN loop; on a Cluster, on each master, one key at a time). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  const asCluster = redis as unknown;
  const nodes: Redis[] = asCluster instanceof Cluster ? (asCluster.nodes('master') as Redis[]) : [redis];
  for (const node of nodes) {
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await Promise.all(keys.map((k) => redis.del(k)));
      cursor = next;
      if (cursor === '0') break;
    }
  }
}

export function testRedis(): Redis {
  return createRedis(testRedisUrl());
}
