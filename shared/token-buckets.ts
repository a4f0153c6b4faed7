/**
 * Token buckets for rate limits kept in process memory. Pure apart from the
 * clock it is given.
 */

/** One bucket: up to `burst` tokens, refilled at `perS` tokens a second. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly burst: number, private readonly perS: number, private readonly now: () => number) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perS);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One bucket per key (a device, an account, a source address): up to `burst`
 * tokens each, refilled at `perMin` a minute. At most `maxKeys` keys are
 * tracked; the least recently used is forgotten first (it starts full again).
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: { burst: number; perMin: number; maxKeys: number; now: () => number }) {}

  /** Takes one token of `key`'s bucket; false when none is left. */
  take(key: string): boolean {
    const { burst, perMin, maxKeys } = this.opts;
    const now = this.opts.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 60_000) * perMin);
    b.at = now;
    this.buckets.delete(key); // re-inserted last: the map's order is least recently used first
    this.buckets.set(key, b);
    if (this.buckets.size > maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
