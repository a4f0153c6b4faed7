import { AuthFailureLimiter, ConcurrencyLimiter, QueueFullError } from '../auth-failure-limiter';
import { loadApiConfig } from '../config';

const limiter = (limit: number, windowMs: number, maxAddresses?: number): { l: AuthFailureLimiter; clock: { now: number } } => {
  const clock = { now: 1_000_000 };
  return { l: new AuthFailureLimiter({ limit, windowMs, maxAddresses, now: () => clock.now }), clock };
};

describe('AuthFailureLimiter', () => {
  it('refuses an address once it reaches the limit within its window, and counts each failure', () => {
    const { l } = limiter(3, 60_000);
    expect(l.retryAfterS('192.0.2.1')).toBe(0);
    expect(l.recordFailure('192.0.2.1')).toBe(1);
    expect(l.recordFailure('192.0.2.1')).toBe(2);
    expect(l.retryAfterS('192.0.2.1')).toBe(0);
    expect(l.recordFailure('192.0.2.1')).toBe(3);
    expect(l.retryAfterS('192.0.2.1')).toBe(60);
    // Other addresses are not affected.
    expect(l.retryAfterS('192.0.2.2')).toBe(0);
  });

  it('Retry-After is the whole seconds until the window ends, rounded up, at least 1', () => {
    const { l, clock } = limiter(2, 60_000);
    l.recordFailure('a');
    clock.now += 10_000;
    l.recordFailure('a');
    // The window started at the first failure: 50 s left.
    expect(l.retryAfterS('a')).toBe(50);
    clock.now += 49_500;
    expect(l.retryAfterS('a')).toBe(1);
    clock.now += 499;
    expect(l.retryAfterS('a')).toBe(1);
  });

  it('a window ends after windowMs: the count starts again from the next failure', () => {
    const { l, clock } = limiter(2, 60_000);
    l.recordFailure('a');
    l.recordFailure('a');
    clock.now += 59_999;
    expect(l.retryAfterS('a')).toBe(1);
    clock.now += 1;
    expect(l.retryAfterS('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(1);
    expect(l.retryAfterS('a')).toBe(0);
    expect(l.recordFailure('a')).toBe(2);
    expect(l.retryAfterS('a')).toBe(60);
  });

  it('failures below the limit expire with their window', () => {
    const { l, clock } = limiter(3, 1_000);
    l.recordFailure('a');
    l.recordFailure('a');
    clock.now += 1_000;
    expect(l.recordFailure('a')).toBe(1);
    expect(l.retryAfterS('a')).toBe(0);
  });

  it('tracks at most maxAddresses: a new address drops the one whose window started first', () => {
    const { l, clock } = limiter(1, 60_000, 3);
    for (const a of ['a', 'b', 'c']) {
      l.recordFailure(a);
      clock.now += 1;
    }
    expect(l.size).toBe(3);
    l.recordFailure('d');
    expect(l.size).toBe(3);
    expect(l.retryAfterS('a')).toBe(0); // dropped
    for (const a of ['b', 'c', 'd']) expect(l.retryAfterS(a)).toBeGreaterThan(0);
  });

  it('a restarted window counts as the newest for eviction', () => {
    const { l, clock } = limiter(1, 1_000, 2);
    l.recordFailure('a');
    clock.now += 500;
    l.recordFailure('b');
    clock.now += 600; // a's window is over, b's is not
    l.recordFailure('a'); // a restarts: now newer than b
    l.recordFailure('c'); // drops b, the oldest window
    expect(l.retryAfterS('b')).toBe(0);
    expect(l.retryAfterS('a')).toBe(1);
    expect(l.retryAfterS('c')).toBe(1);
  });

  it('limit 0 disables it', () => {
    const { l } = limiter(0, 60_000);
    for (let i = 0; i < 100; i++) l.recordFailure('a');
    expect(l.retryAfterS('a')).toBe(0);
    expect(l.size).toBe(0);
  });

  it('rejects nonsensical options', () => {
    expect(() => new AuthFailureLimiter({ limit: -1, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new AuthFailureLimiter({ limit: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => new AuthFailureLimiter({ limit: 1, windowMs: 1000, maxAddresses: 0 })).toThrow(RangeError);
  });
});

/** A promise with its resolve function. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ConcurrencyLimiter', () => {
  it('runs at most max tasks at once, queues the next ones in order, refuses beyond the queue', async () => {
    const gate = new ConcurrencyLimiter(2, 2);
    const blockers = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    let peak = 0;
    const task = (i: number) => async (): Promise<number> => {
      started.push(i);
      peak = Math.max(peak, gate.running);
      await blockers[i]!.promise;
      return i;
    };
    const runs = [0, 1, 2, 3].map((i) => gate.run(task(i)));
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.running).toBe(2);
    expect(gate.queued).toBe(2);
    await expect(gate.run(async () => 'late')).rejects.toBeInstanceOf(QueueFullError);

    blockers[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(gate.running).toBe(2);
    blockers[0]!.resolve();
    blockers[2]!.resolve();
    blockers[3]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
    expect(gate.running).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('a failing task frees its slot and its error reaches the caller', async () => {
    const gate = new ConcurrencyLimiter(1, 0);
    await expect(gate.run(async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(gate.running).toBe(0);
    expect(await gate.run(async () => 'ok')).toBe('ok');
  });

  it('with maxQueue 0 a task either runs at once or is refused', async () => {
    const gate = new ConcurrencyLimiter(1, 0);
    const block = deferred();
    const first = gate.run(() => block.promise);
    await expect(gate.run(async () => 1)).rejects.toBeInstanceOf(QueueFullError);
    block.resolve();
    await first;
    expect(await gate.run(async () => 2)).toBe(2);
  });

  it('rejects nonsensical options', () => {
    expect(() => new ConcurrencyLimiter(0, 1)).toThrow(RangeError);
    expect(() => new ConcurrencyLimiter(1, -1)).toThrow(RangeError);
  });
});

describe('throttle configuration', () => {
  const base = { DATABASE_URL: 'postgres://localhost/x' };

  it('has safe defaults', () => {
    const c = loadApiConfig(base);
    expect(c.API_AUTH_FAILURE_LIMIT).toBe(20);
    expect(c.API_AUTH_FAILURE_WINDOW_S).toBe(60);
    expect(c.API_ARGON2_MAX_CONCURRENCY).toBe(4);
    expect(c.API_ARGON2_MAX_QUEUE).toBe(100);
    expect(c.API_TRUST_PROXY).toBeUndefined();
  });

  it('API_TRUST_PROXY takes a hop count or a list of addresses, ranges and named ranges, never "trust everything"', () => {
    expect(loadApiConfig({ ...base, API_TRUST_PROXY: '1' }).API_TRUST_PROXY).toBe(1);
    expect(loadApiConfig({ ...base, API_TRUST_PROXY: 'loopback, 10.0.0.0/8,2001:db8::/32, 192.0.2.7' }).API_TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    for (const bad of ['true', '*', '10.0.0.0/33', '2001:db8::/129', 'proxy.example', 'loopback,']) {
      expect(() => loadApiConfig({ ...base, API_TRUST_PROXY: bad })).toThrow(/API_TRUST_PROXY/);
    }
  });

  it('refuses a zero window or concurrency', () => {
    expect(() => loadApiConfig({ ...base, API_AUTH_FAILURE_WINDOW_S: '0' })).toThrow(/API_AUTH_FAILURE_WINDOW_S/);
    expect(() => loadApiConfig({ ...base, API_ARGON2_MAX_CONCURRENCY: '0' })).toThrow(/API_ARGON2_MAX_CONCURRENCY/);
  });
});
