import type { Redis } from './redis';

/**
 * Brute-force protection state for SIP digest authentication, in Redis so that
 * every registrar process sees the same counts and blocks.
 *
 * Layout (P = key prefix). Every key carries the hash tag `{sb}`, so one script updates a
 * failure's four keys atomically on a Redis Cluster too (they share a slot; the counters are
 * written only by failed authentications, so that slot is not a hot one in normal traffic):
 * - `P{sb}fail:src:<address>`  failures from one source address in the current window (INCR, PEXPIRE on first)
 * - `P{sb}fail:user:<user@domain>` failures against one username in the current window
 * - `P{sb}block:<address>`     a block: JSON {@link SipBlock}, PEXPIRE = block duration
 * - `P{sb}blocks`              sorted set of blocked addresses scored by block end (for listing)
 * - `Pblocks:ch`               pub/sub channel announcing `<address>\t<block end ms>` (0: lifted)
 *
 * Processes on the hot path keep a mirror of the blocks in memory ({@link SipBlocks.startMirror}):
 * fed by the channel, reloaded on every (re)subscription and periodically, so
 * checking a source costs no Redis round trip.
 *
 * Policy: a source is blocked when its own failures reach `sourceThreshold`
 * within `windowMs`, or when it fails against a username whose failures (from
 * any source) have reached `userThreshold`. The username itself is never
 * locked, so the real device registering from its own address is not affected.
 */

export interface SipBlock {
  address: string;
  /** Block end, ISO time. */
  until: string;
  /** Block start, ISO time. */
  since: string;
  reason: string;
  /** Failures counted when the block was set. */
  failures: number;
}

export interface SipBlockPolicy {
  windowMs: number;
  sourceThreshold: number;
  userThreshold: number;
  blockMs: number;
}

const DEFAULT_BLOCK_POLICY: SipBlockPolicy = {
  windowMs: 60_000,
  sourceThreshold: 10,
  userThreshold: 20,
  blockMs: 15 * 60_000,
};

export interface FailureOutcome {
  /** True when this failure put the source over a threshold and it is now blocked. */
  blocked: boolean;
  sourceFailures: number;
  userFailures: number;
}

// KEYS: source counter, user counter, block key, blocks index.
// ARGV: windowMs, sourceThreshold, userThreshold, blockMs, now, address, channel.
// Returns {blocked (0/1), sourceFailures, userFailures, block end ms when blocked}.
const RECORD_FAILURE_LUA = `
local src = redis.call('INCR', KEYS[1])
if src == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local usr = redis.call('INCR', KEYS[2])
if usr == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
local reason = nil
if src >= tonumber(ARGV[2]) then reason = 'too many failed authentications from this address'
elseif usr >= tonumber(ARGV[3]) then reason = 'failed authentications against a username under attack' end
if reason == nil or redis.call('EXISTS', KEYS[3]) == 1 then return {0, src, usr} end
local now = tonumber(ARGV[5])
local untilMs = now + tonumber(ARGV[4])
redis.call('SET', KEYS[3], cjson.encode({address = ARGV[6], since = now, ['until'] = untilMs, reason = reason, failures = src}), 'PX', ARGV[4])
redis.call('ZADD', KEYS[4], untilMs, ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[6] .. '\t' .. untilMs)
return {1, src, usr, untilMs}
`;

interface StoredBlock {
  address: string;
  since: number;
  until: number;
  reason: string;
  failures: number;
}

/** The client with the failure-counting script defined (sent as EVALSHA, not the whole script each time). */
type Scripted = Redis & {
  sipRecordFailure(src: string, user: string, block: string, index: string, ...args: (string | number)[]): Promise<number[]>;
};

/** Counts failed SIP authentications and holds blocks. */
export class SipBlocks {
  private readonly redis: Scripted;
  private readonly prefix: string;
  private readonly policy: SipBlockPolicy;
  private readonly now: () => number;
  /** Address → block end (ms), when mirroring. */
  private mirror: Map<string, number> | undefined;
  private mirrorTimer: ReturnType<typeof setInterval> | undefined;

  constructor(redis: Redis, opts: { prefix: string; policy?: Partial<SipBlockPolicy>; now?: () => number }) {
    this.redis = redis as Scripted;
    if (typeof this.redis.sipRecordFailure !== 'function') {
      redis.defineCommand('sipRecordFailure', { numberOfKeys: 4, lua: RECORD_FAILURE_LUA });
    }
    this.prefix = opts.prefix;
    this.policy = { ...DEFAULT_BLOCK_POLICY, ...opts.policy };
    this.now = opts.now ?? Date.now;
  }

  /** The hash-tagged start of every key of this module (one Cluster slot). */
  private get tagged(): string {
    return `${this.prefix}{sb}`;
  }

  private blockKey(address: string): string {
    return `${this.tagged}block:${address}`;
  }

  /** The failure counter of a source address (tests and operators read it). */
  sourceCounterKey(address: string): string {
    return `${this.tagged}fail:src:${address}`;
  }

  /** The sorted set of blocked addresses. */
  get indexKey(): string {
    return `${this.tagged}blocks`;
  }

  private get channel(): string {
    return `${this.prefix}blocks:ch`;
  }

  /**
   * Is this source address blocked right now? From the in-memory mirror when
   * {@link startMirror} runs (no round trip), else one Redis read.
   */
  async isBlocked(address: string): Promise<boolean> {
    if (this.mirror) return this.isBlockedMirrored(address);
    return (await this.redis.exists(this.blockKey(address))) === 1;
  }

  /** The mirror's answer (false when no mirror runs). */
  isBlockedMirrored(address: string): boolean {
    const until = this.mirror?.get(address);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.mirror?.delete(address);
    return false;
  }

  /**
   * Keeps an in-memory copy of the blocks, fed by the blocks channel on
   * `subscriber` (a connection in subscriber mode, shared with other channels),
   * reloaded when it (re)subscribes and every `reloadMs`. Resolves after the first load.
   */
  async startMirror(subscriber: Redis, reloadMs = 30_000): Promise<void> {
    if (this.mirror) return;
    this.mirror = new Map();
    const channel = this.channel;
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel || !this.mirror) return;
      const [address, until] = message.split('\t');
      const untilMs = Number(until);
      if (!address || !Number.isFinite(untilMs)) return;
      if (untilMs > this.now()) this.mirror.set(address, untilMs);
      else this.mirror.delete(address);
    });
    // After a reconnection messages sent meanwhile were lost: (re)subscribe (idempotent, and
    // covers a first subscribe that failed while Redis was down) and reload.
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).catch(() => undefined);
      this.reloadMirror().catch(() => undefined);
    });
    this.mirrorTimer = setInterval(() => void this.reloadMirror().catch(() => undefined), reloadMs);
    this.mirrorTimer.unref();
    await subscriber.subscribe(channel);
    await this.reloadMirror();
  }

  /** Stops the periodic reload (the subscriber connection belongs to the caller). */
  stopMirror(): void {
    if (this.mirrorTimer) clearInterval(this.mirrorTimer);
    this.mirrorTimer = undefined;
    this.mirror = undefined;
  }

  private async reloadMirror(): Promise<void> {
    const now = this.now();
    const entries = await this.redis.zrangebyscore(this.indexKey, now, '+inf', 'WITHSCORES', 'LIMIT', 0, 100_000);
    const next = new Map<string, number>();
    for (let i = 0; i + 1 < entries.length; i += 2) next.set(entries[i]!, Number(entries[i + 1]));
    if (this.mirror) this.mirror = next;
  }

  /** Counts one failed authentication from `address` against `user` (user@domain); blocks past a threshold. */
  async recordFailure(address: string, user: string): Promise<FailureOutcome> {
    const p = this.policy;
    const reply = await this.redis.sipRecordFailure(
      this.sourceCounterKey(address),
      `${this.tagged}fail:user:${user}`,
      this.blockKey(address),
      this.indexKey,
      p.windowMs,
      p.sourceThreshold,
      p.userThreshold,
      p.blockMs,
      this.now(),
      address,
      this.channel,
    );
    if (reply[0] === 1) this.mirror?.set(address, Number(reply[3]));
    return { blocked: reply[0] === 1, sourceFailures: Number(reply[1]), userFailures: Number(reply[2]) };
  }

  /** Blocks in force, soonest ending first. */
  async list(): Promise<SipBlock[]> {
    const now = this.now();
    await this.redis.zremrangebyscore(this.indexKey, '-inf', now);
    const addresses = await this.redis.zrangebyscore(this.indexKey, now, '+inf', 'LIMIT', 0, 10_000);
    if (addresses.length === 0) return [];
    const values = await this.redis.mget(...addresses.map((a) => this.blockKey(a)));
    const blocks: SipBlock[] = [];
    for (const v of values) {
      if (!v) continue;
      try {
        const b = JSON.parse(v) as StoredBlock;
        blocks.push({
          address: b.address,
          since: new Date(b.since).toISOString(),
          until: new Date(b.until).toISOString(),
          reason: b.reason,
          failures: b.failures,
        });
      } catch {
        // A corrupted entry is skipped; it expires with its TTL.
      }
    }
    return blocks;
  }

  /** Lifts the block on `address` and forgets its failure count. Returns false when it was not blocked. */
  async unblock(address: string): Promise<boolean> {
    const replies = (await this.redis
      .multi()
      .del(this.blockKey(address))
      .zrem(this.indexKey, address)
      .del(this.sourceCounterKey(address))
      .publish(this.channel, `${address}\t0`)
      .exec()) ?? [];
    this.mirror?.delete(address);
    return replies[0]?.[1] === 1;
  }
}
