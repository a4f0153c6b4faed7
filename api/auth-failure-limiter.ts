/**
 * Throttles failed API key verifications, in process and without timers.
 *
 * - AuthFailureLimiter counts failed verifications per client address in fixed
 *   windows: an address's window starts at its first failure and lasts
 *   `windowMs`; once `limit` failures fall in it, the address is refused until
 *   the window ends. Windows expire lazily (on the next look-up), and at most
 *   `maxAddresses` addresses are tracked: a new one drops the address whose
 *   window started first.
 * - ConcurrencyLimiter caps how many argon2 verifications run at once, with a
 *   bounded queue behind them, so a flood cannot occupy the libuv threadpool.
 */

/** Default cap on tracked addresses (a few hundred bytes each). */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 10_000;

/** Options of AuthFailureLimiter. */
export interface AuthFailureLimiterOptions {
  /** Failures per window after which an address is refused; 0 disables the limiter. */
  readonly limit: number;
  /** Length of a window (ms). */
  readonly windowMs: number;
  /** Most tracked addresses (default DEFAULT_MAX_TRACKED_ADDRESSES). */
  readonly maxAddresses?: number;
  /** Clock (ms since epoch). */
  readonly now?: () => number;
}

interface Window {
  readonly start: number;
  count: number;
}

export class AuthFailureLimiter {
  /** Insertion order is window start order: a restarted window is re-inserted at the end. */
  private readonly windows = new Map<string, Window>();
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly opts: AuthFailureLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 0) throw new RangeError('limit must be a non-negative integer');
    if (!(opts.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.maxAddresses = opts.maxAddresses ?? DEFAULT_MAX_TRACKED_ADDRESSES;
    if (!Number.isInteger(this.maxAddresses) || this.maxAddresses < 1) throw new RangeError('maxAddresses must be a positive integer');
    this.now = opts.now ?? Date.now;
  }

  get limit(): number {
    return this.opts.limit;
  }

  /** Number of tracked addresses (expired windows included until they are looked at or evicted). */
  get size(): number {
    return this.windows.size;
  }

  /**
   * Whole seconds until `address` may try again (at least 1), or 0 when it is
   * not over the limit.
   */
  retryAfterS(address: string): number {
    if (this.opts.limit === 0) return 0;
    const w = this.current(address);
    if (!w || w.count < this.opts.limit) return 0;
    return Math.max(1, Math.ceil((w.start + this.opts.windowMs - this.now()) / 1000));
  }

  /** True when `count` (from recordFailure) is the failure that starts throttling; never when the limiter is off. */
  reachesLimit(count: number): boolean {
    return this.opts.limit > 0 && count === this.opts.limit;
  }

  /** Records one failed verification of `address`; returns its failures in the current window (0 when the limiter is off). */
  recordFailure(address: string): number {
    if (this.opts.limit === 0) return 0;
    const w = this.current(address);
    if (w) {
      w.count++;
      return w.count;
    }
    if (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
    this.windows.set(address, { start: this.now(), count: 1 });
    return 1;
  }

  /** The unexpired window of `address`; an expired one is dropped. */
  private current(address: string): Window | undefined {
    const w = this.windows.get(address);
    if (!w) return undefined;
    if (this.now() - w.start < this.opts.windowMs) return w;
    this.windows.delete(address);
    return undefined;
  }
}

/** Thrown by ConcurrencyLimiter.run when every slot is taken and the queue is full. */
export class QueueFullError extends Error {
  constructor() {
    super('concurrency limiter queue is full');
    this.name = 'QueueFullError';
  }
}

/** At most `max` tasks at once; up to `maxQueue` more wait in FIFO order; beyond that, QueueFullError. */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number, private readonly maxQueue: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be a non-negative integer');
  }

  /** Tasks running now. */
  get running(): number {
    return this.active;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `fn` once a slot is free; rejects with QueueFullError at once when it would have to wait in a full queue. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.max) {
      this.active++;
    } else {
      if (this.waiting.length >= this.maxQueue) throw new QueueFullError();
      // The finishing task hands its slot over: `active` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
