import { randomBytes } from 'node:crypto';
import { createRedis, Redis } from '../redis';
import { testRedisUrl } from './env';

/** A Redis key prefix no other test file uses. */
export function testKeyPrefix(): string {
  return `t${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (bounded SCAN loop). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
}

export function testRedis(): Redis {
  return createRedis(testRedisUrl());
}
