import { SipBlocks } from '../sip-blocks';
import { clearPrefix, testKeyPrefix, testRedis } from '../testing/redis';
import { until } from '../testing/wait';

describe('SIP brute-force blocks (real Redis)', () => {
  const redis = testRedis();
  const prefix = testKeyPrefix();
  const now = 1_700_000_000_000;
  const blocks = new SipBlocks(redis, { prefix, now: () => now, policy: { sourceThreshold: 3, userThreshold: 5, windowMs: 60_000, blockMs: 60_000 } });

  afterAll(async () => {
    await clearPrefix(redis, prefix);
    redis.disconnect();
  });

  it('blocks a source after the threshold of failures, and only that source', async () => {
    expect((await blocks.recordFailure('198.51.100.7', 'alice@example.com')).blocked).toBe(false);
    expect((await blocks.recordFailure('198.51.100.7', 'bob@example.com')).blocked).toBe(false);
    expect((await blocks.recordFailure('198.51.100.7', 'carol@example.com')).blocked).toBe(true);
    expect(await blocks.isBlocked('198.51.100.7')).toBe(true);
    expect(await blocks.isBlocked('198.51.100.8')).toBe(false);
    const list = await blocks.list();
    expect(list).toEqual([expect.objectContaining({ address: '198.51.100.7', failures: 3 })]);
  });

  it('blocks sources failing against a username under a distributed attack', async () => {
    for (let i = 1; i <= 4; i++) expect((await blocks.recordFailure(`203.0.113.${i}`, 'dave@example.com')).blocked).toBe(false);
    expect((await blocks.recordFailure('203.0.113.5', 'dave@example.com')).blocked).toBe(true);
  });

  it('unblocks on request', async () => {
    expect(await blocks.unblock('198.51.100.7')).toBe(true);
    expect(await blocks.isBlocked('198.51.100.7')).toBe(false);
    // Its failure count starts again: one more failure does not block it at once.
    expect(await blocks.recordFailure('198.51.100.7', 'erin@example.com')).toMatchObject({ blocked: false, sourceFailures: 1 });
    expect(await blocks.unblock('198.51.100.7')).toBe(false);
  });

  it('mirrors blocks set and lifted by other processes in memory', async () => {
    const subscriber = testRedis();
    const mirrored = new SipBlocks(redis, { prefix, now: () => now, policy: { sourceThreshold: 3, userThreshold: 5, windowMs: 60_000, blockMs: 60_000 } });
    try {
      await mirrored.startMirror(subscriber);
      // 203.0.113.5 was blocked above, before the mirror started: the first load has it.
      expect(mirrored.isBlockedMirrored('203.0.113.5')).toBe(true);
      for (let i = 0; i < 3; i++) await blocks.recordFailure('198.51.100.9', 'erin@example.com');
      await until(() => mirrored.isBlockedMirrored('198.51.100.9'), 1000, 'the block in the mirror');
      await blocks.unblock('198.51.100.9');
      await until(() => !mirrored.isBlockedMirrored('198.51.100.9'), 1000, 'the lifted block gone from the mirror');
      expect(await mirrored.isBlocked('198.51.100.10')).toBe(false);
    } finally {
      mirrored.stopMirror();
      subscriber.disconnect();
    }
  });
});
