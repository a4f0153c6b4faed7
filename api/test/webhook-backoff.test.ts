import fc from 'fast-check';
import { retryDelayMs } from '../webhooks/backoff';

const OPTS = { baseMs: 1000, maxMs: 3_600_000 };
/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('a failed delivery is retried later and later, with jitter', () => {
  it('waits between half and all of baseMs · 2^(attempt-1)', () => {
    expect(retryDelayMs(1, OPTS, () => 0)).toBe(500);
    expect(retryDelayMs(1, OPTS, () => ALMOST_ONE)).toBeCloseTo(1000, 6);
    expect(retryDelayMs(2, OPTS, () => 0)).toBe(1000);
    expect(retryDelayMs(2, OPTS, () => 0.5)).toBe(1500);
    expect(retryDelayMs(5, OPTS, () => 0)).toBe(8000);
    expect(retryDelayMs(5, OPTS, () => ALMOST_ONE)).toBeCloseTo(16_000, 6);
  });

  it('never lets a lower bound fall, and each one meets the previous upper bound until the cap', () => {
    let previousLow = 0;
    let previousHigh = 0;
    for (let attempt = 1; attempt <= 40; attempt++) {
      const low = retryDelayMs(attempt, OPTS, () => 0);
      const high = retryDelayMs(attempt, OPTS, () => 1);
      expect(low).toBeGreaterThanOrEqual(previousLow);
      if (high < OPTS.maxMs) expect(low).toBe(high / 2);
      if (attempt > 1 && high < OPTS.maxMs) expect(low).toBe(previousHigh);
      previousLow = low;
      previousHigh = high;
    }
  });

  it('stays within [maxMs/2, maxMs] once the cap is reached', () => {
    // 1000 · 2^12 = 4 096 000 > 3 600 000: attempt 13 and later are capped.
    expect(retryDelayMs(12, OPTS, () => 1)).toBe(2_048_000);
    for (const attempt of [13, 14, 20, 50]) {
      expect(retryDelayMs(attempt, OPTS, () => 0)).toBe(1_800_000);
      expect(retryDelayMs(attempt, OPTS, () => 1)).toBe(3_600_000);
    }
  });

  it('gives finite delays for huge attempt numbers', () => {
    for (const attempt of [1024, 1025, 2000, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      const delay = retryDelayMs(attempt, OPTS, () => 0.5);
      expect([attempt, Number.isFinite(delay), delay]).toEqual([attempt, true, 2_700_000]);
    }
    // A base so small that 2^(attempt-1) alone decides, and one so large that the product overflows.
    expect(retryDelayMs(1_000_000, { baseMs: Number.MIN_VALUE, maxMs: 60_000 }, () => 1)).toBe(60_000);
    expect(retryDelayMs(1_000_000, { baseMs: 1e300, maxMs: 1e308 }, () => 1)).toBe(1e308);
  });

  it('refuses attempt numbers and bounds that make no sense', () => {
    for (const attempt of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => retryDelayMs(attempt, OPTS)).toThrow(RangeError);
    }
    expect(() => retryDelayMs(1, { baseMs: 0, maxMs: 1000 })).toThrow(RangeError);
    expect(() => retryDelayMs(1, { baseMs: 2000, maxMs: 1000 })).toThrow(RangeError);
    expect(() => retryDelayMs(1, { baseMs: 1000, maxMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => retryDelayMs(1, { baseMs: Number.NaN, maxMs: 1000 })).toThrow(RangeError);
  });

  it('never retries sooner than the time before, whatever the draws, while below the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, extra, r1, r2) => {
          const opts = { baseMs, maxMs: baseMs + extra };
          const next = retryDelayMs(attempt + 1, opts, () => r2);
          const current = retryDelayMs(attempt, opts, () => r1);
          expect(current).toBeGreaterThanOrEqual(baseMs / 2);
          expect(next).toBeLessThanOrEqual(opts.maxMs);
          if (baseMs * 2 ** attempt <= opts.maxMs) expect(next).toBeGreaterThanOrEqual(current);
        },
      ),
    );
  });

  it('uses Math.random by default, within the same bounds', () => {
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(3, OPTS);
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });
});
