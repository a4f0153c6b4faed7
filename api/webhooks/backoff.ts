/**
 * Retry delays of webhook deliveries: exponential backoff with "equal
 * jitter". The ceiling d = min(maxMs, baseMs · 2^(attempt-1)) doubles per
 * attempt; the delay is drawn from [d/2, d]. Half of it is fixed, so below the
 * cap a retry never comes sooner than the one before it (its lower bound is
 * the previous upper bound); half is random, so the retries of many
 * deliveries that failed together (a receiver that was down) spread out
 * instead of coming back in lockstep.
 */

/**
 * The delay (ms) before the retry that follows failed attempt number
 * `attempt` (1 for the first delivery), in [d/2, d] with
 * d = min(maxMs, baseMs · 2^(attempt-1)). `random` returns [0, 1) like
 * Math.random (injected by tests). Throws RangeError for an attempt that is
 * not a positive integer or bounds that are not 0 < baseMs ≤ maxMs, finite.
 */
export function retryDelayMs(attempt: number, opts: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt must be a positive integer');
  const { baseMs, maxMs } = opts;
  if (!(baseMs > 0) || !Number.isFinite(maxMs) || maxMs < baseMs) throw new RangeError('backoff needs finite 0 < baseMs <= maxMs');
  // For a huge attempt 2^(attempt-1) is Infinity; baseMs > 0 keeps the product Infinity (0 · Infinity would be NaN), which min() caps.
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}
