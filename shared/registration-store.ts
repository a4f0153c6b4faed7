import type { Redis } from './redis';

/**
 * The one module that owns the Redis layout of live registration state.
 * The registrar writes through it, the API reads through it; no other file
 * builds one of these keys.
 *
 * Layout (P = configured key prefix, {d} = device id as a Redis Cluster hash tag,
 * so every key of one device lives in one slot and one Lua script can update
 * them atomically):
 * - `P{d}:b`  hash: binding id → the binding as compact JSON (the device's contacts;
 *             see {@link encodeBinding}). Expires (PEXPIRE) shortly after its last binding.
 * - `P{d}:s`  hash: device status: `v` version (bumped by every write),
 *             `last` last successful registration (ms), `ip`, `port`, `tr`
 *             transport, `ua` user agent, `exp` expiry of the newest binding (ms, 0 when none),
 *             `lf` the newest failure since the last successful REGISTER (JSON), if any.
 * - `P{d}:n`  hash: digest nonce → `<highest nonce-count>:<issue time>` of the 4 to 8 nonces
 *             the device answered last, and `_floor`, the newest issue time evicted (replay
 *             protection, RFC 7616 §3.4); expires a nonce lifetime after its last use.
 * - `Pexp`    sorted set: device id scored by its earliest binding expiry
 *             (reaper index; a hint, re-checked atomically per device when reaped).
 * - `Pinval`  pub/sub channel of credential invalidations from the API.
 *
 * registrationStatus is derived on read: `pending` (never registered),
 * `registered` (the newest binding expires in the future), `unregistered`.
 * Events (registered, expired, …) are not kept here: callers write them to
 * PostgreSQL (shared/events/), from what the methods below return.
 */

/** One contact binding of a device's address-of-record (RFC 3261 §10.3), as stored. */
export interface Binding {
  /** Binding identity: `<instance>|<reg-id>` for RFC 5626 bindings, else the canonical contact URI. */
  id: string;
  /** Contact URI exactly as the device sent it (echoed in 200 OK). */
  uri: string;
  /** Contact header parameters other than `expires`, as sent (e.g. `;+sip.instance="<urn:…>";reg-id=1`), or ''. */
  params: string;
  /** Absolute expiry, ms since epoch. */
  expiresAt: number;
  callId: string;
  cseq: number;
  sourceAddress: string;
  sourcePort: number;
  transport: string;
  /** Local `ip:port` the request arrived on (drachtio's receivedOn). */
  receivedOn: string;
  userAgent: string;
  instance?: string;
  regId?: number;
  /** Path header values (RFC 3327), in order. */
  path?: string[];
  q?: number;
  /** When this binding was first created, ms since epoch. */
  registeredAt: number;
}

export type RegistrationStatus = 'pending' | 'registered' | 'unregistered';

/** What the API shows of a device's live state. */
export interface DeviceLiveStatus {
  registrationStatus: RegistrationStatus;
  lastRegistration: string | null;
  ipAddress: string | null;
  port: number | null;
  transport: string | null;
  userAgent: string | null;
  /** Expiry of the newest binding (ISO), null when none is live. */
  expiresAt: string | null;
  /** The newest failed REGISTER since the last successful one, or null. */
  lastFailure: RegistrationFailure | null;
}

/** A failed REGISTER of a device, as `lastFailure` shows it. */
export interface RegistrationFailure {
  /** ISO 8601. */
  at: string;
  /** An auth_failed or rejected reason (shared/events/catalog.ts). */
  reason: string;
  sourceIp: string;
}

/** The source of the latest successful REGISTER, recorded with a commit. */
export interface RegistrationSource {
  ipAddress: string;
  port: number;
  transport: string;
  userAgent: string;
}

/** A consistent snapshot of a device's bindings, with the version a commit must match. */
export interface BindingSnapshot {
  version: number;
  bindings: Binding[];
}

export interface CommitChange {
  /** Bindings to add or replace (by id). */
  upserts: Binding[];
  /** Binding ids to remove. */
  removals: string[];
  /** Set on a successful REGISTER: updates lastRegistration and the source fields. */
  source?: RegistrationSource;
  /** A successful REGISTER: forget the device's last failure. */
  succeeded?: boolean;
}

export type CommitResult =
  | {
      ok: true;
      version: number;
      bindings: Binding[];
      /**
       * The reaper-index write that follows a commit (sent at once, settled later).
       * Callers need not wait for it: the bindings are committed already, and a
       * failure leaves only the index hint missing. Never reported as unhandled
       * when nobody awaits it.
       */
      indexed: Promise<void>;
    }
  | { ok: false; reason: 'conflict' };

/** A binding the reaper removed. */
export interface ExpiredBinding {
  deviceId: string;
  binding: Binding;
}

/** A credential invalidation published by the API and consumed by registrar caches. */
export interface Invalidation {
  deviceId: string;
  sipUsername: string;
  sipDomain: string;
}

export interface RegistrationStoreOptions {
  prefix: string;
  /** Injected clock (ms); Date.now by default. */
  now?: () => number;
}

/** Keeps a binding hash this long past its newest binding's expiry, so late readers see a consistent state. */
const BINDINGS_GRACE_MS = 60_000;

// A stored binding's expiresAt (ms), read without decoding its JSON: inside a JSON string
// every quote is escaped, so '"expiresAt":' can only be the object's own key. A value
// without it (corrupted) counts as expired, so the scripts drop it instead of failing.
const EXPIRY_OF_LUA = `
local function expiryOf(json) return tonumber(string.match(json, '"expiresAt":(%d+)')) or 0 end
`;

// Atomic commit. KEYS: bindings hash, status hash. ARGV: expectedVersion, now,
// succeeded (1: forget the last failure, else 0), nUpserts, (id, json)*, nRemovals, id*,
// source fields (ip, port, tr, ua) or ''.
// Drops bindings that have expired by `now`; returns {version, id, json, id, json...} or {-1} on a version conflict.
const COMMIT_LUA = `${EXPIRY_OF_LUA}
local b, s = KEYS[1], KEYS[2]
local expected = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', s, 'v') or '0')
if current ~= expected then return {-1} end
if ARGV[3] == '1' then redis.call('HDEL', s, 'lf') end
local i = 4
local nUp = tonumber(ARGV[i]); i = i + 1
for _ = 1, nUp do
  redis.call('HSET', b, ARGV[i], ARGV[i + 1]); i = i + 2
end
local nRm = tonumber(ARGV[i]); i = i + 1
for _ = 1, nRm do
  redis.call('HDEL', b, ARGV[i]); i = i + 1
end
local all = redis.call('HGETALL', b)
local out = {}
local maxExp = 0
for j = 1, #all, 2 do
  local exp = expiryOf(all[j + 1])
  if exp <= now then
    redis.call('HDEL', b, all[j])
  else
    out[#out + 1] = all[j]
    out[#out + 1] = all[j + 1]
    if exp > maxExp then maxExp = exp end
  end
end
local version = current + 1
redis.call('HSET', s, 'v', version, 'exp', maxExp)
if ARGV[i] ~= '' then
  redis.call('HSET', s, 'last', now, 'ip', ARGV[i], 'port', ARGV[i + 1], 'tr', ARGV[i + 2], 'ua', ARGV[i + 3])
end
if maxExp > 0 then
  redis.call('PEXPIRE', b, maxExp - now + ${BINDINGS_GRACE_MS})
else
  redis.call('DEL', b)
end
table.insert(out, 1, version)
return out
`;

// Atomic reap of expired bindings. KEYS: bindings hash, status hash. ARGV: now.
// Returns {earliestRemainingExpiry or 0, removed id, json...}.
const REAP_LUA = `${EXPIRY_OF_LUA}
local b, s = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', b)
local removed = {}
local minExp, maxExp = 0, 0
for j = 1, #all, 2 do
  local exp = expiryOf(all[j + 1])
  if exp <= now then
    redis.call('HDEL', b, all[j])
    removed[#removed + 1] = all[j]
    removed[#removed + 1] = all[j + 1]
  else
    if minExp == 0 or exp < minExp then minExp = exp end
    if exp > maxExp then maxExp = exp end
  end
end
if #removed > 0 then
  redis.call('HINCRBY', s, 'v', 1)
  redis.call('HSET', s, 'exp', maxExp)
end
table.insert(removed, 1, minExp)
return removed
`;

// Remove every binding. KEYS: bindings hash, status hash. Returns the removed {id, json...}.
const REMOVE_ALL_LUA = `
local vals = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'v', 1)
  redis.call('HSET', KEYS[2], 'exp', 0)
end
return vals
`;

// Authenticated read: checks and records the digest nonce-count, then returns the
// version and bindings, atomically. KEYS: status hash, bindings hash, nonce hash.
// ARGV: nonce, nonce issue time (ms), nonce-count, nonce lifetime (ms).
// The nonce hash maps each recently answered nonce to "<nc>:<issued>"; a count not
// higher than the one recorded is a replay. It keeps at least the NONCES_KEPT newest
// nonces: once it holds more than twice as many, all but those are evicted in one
// batch (so a client that answers every challenge once, as SIPp does, does not sort
// the hash on every REGISTER) and `_floor` remembers the newest evicted issue time, so
// an unknown nonce issued at or before it is refused too (the client gets a fresh
// challenge). The hash expires a nonce lifetime after its last use.
// Returns {accepted (0/1), version, id, json...}.
const NONCES_KEPT = 4;
const LOAD_LUA = `
local s, b, n = KEYS[1], KEYS[2], KEYS[3]
local nonce, issued, nc, lifetime = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local seen = redis.call('HGET', n, nonce)
local accepted = 0
if seen then
  if nc > tonumber(string.match(seen, '^(%d+)')) then accepted = 1 end
elseif issued > tonumber(redis.call('HGET', n, '_floor') or '-1') then
  accepted = 1
end
if accepted == 1 then
  redis.call('HSET', n, nonce, nc .. ':' .. issued)
  redis.call('PEXPIRE', n, lifetime)
  local held = redis.call('HLEN', n)
  if held > ${2 * NONCES_KEPT} and redis.call('HEXISTS', n, '_floor') == 1 then held = held - 1 end
  if held > ${2 * NONCES_KEPT} then
    local all = redis.call('HGETALL', n)
    local entries = {}
    for j = 1, #all, 2 do
      if all[j] ~= '_floor' then entries[#entries + 1] = {all[j], tonumber(string.match(all[j + 1], ':(%d+)$'))} end
    end
    table.sort(entries, function(x, y) return x[2] < y[2] end)
    local floor = tonumber(redis.call('HGET', n, '_floor') or '-1')
    for j = 1, #entries - ${NONCES_KEPT} do
      redis.call('HDEL', n, entries[j][1])
      if entries[j][2] > floor then floor = entries[j][2] end
    end
    redis.call('HSET', n, '_floor', floor)
  end
end
local out = redis.call('HGETALL', b)
table.insert(out, 1, tonumber(redis.call('HGET', s, 'v') or '0'))
table.insert(out, 1, accepted)
return out
`;

type Scripted = Redis & {
  regCommit(b: string, s: string, ...args: (string | number)[]): Promise<(string | number)[]>;
  regReap(b: string, s: string, now: number): Promise<(string | number)[]>;
  regRemoveAll(b: string, s: string): Promise<string[]>;
  regLoad(s: string, b: string, n: string, nonce: string, issuedAt: number, nc: number, lifetimeMs: number): Promise<(string | number)[]>;
};

function defineScripts(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.regCommit !== 'function') {
    redis.defineCommand('regCommit', { numberOfKeys: 2, lua: COMMIT_LUA });
    redis.defineCommand('regReap', { numberOfKeys: 2, lua: REAP_LUA });
    redis.defineCommand('regRemoveAll', { numberOfKeys: 2, lua: REMOVE_ALL_LUA });
    redis.defineCommand('regLoad', { numberOfKeys: 3, lua: LOAD_LUA });
  }
  return r;
}

/** Key names under one prefix (the store exposes them as `keys` for tests and tooling). */
function registrationKeys(prefix: string) {
  return {
    bindings: (deviceId: string) => `${prefix}{${deviceId}}:b`,
    status: (deviceId: string) => `${prefix}{${deviceId}}:s`,
    nonces: (deviceId: string) => `${prefix}{${deviceId}}:n`,
    expiryIndex: `${prefix}exp`,
    invalidations: `${prefix}inval`,
  };
}

/**
 * A binding as stored: JSON with short field names, without what the hash field
 * (the binding id) already says. Ids of RFC 5626 bindings are `<instance>|<reg-id>`
 * (`i: 1` marks them), so instance and reg-id are not stored again; nor is the quoted
 * instance in the Contact's params, where RFC 5626 phones send it (`;+sip.instance="<…>"`):
 * `n` is the offset in `p` it was cut out at, and reading puts it back. When the params are
 * exactly `;+sip.instance="<…>";reg-id=N` (most phones), `i: 2` says so and `p` is left out.
 * (An RFC 5626 phone's value 309 → 224 B: its bindings hash falls from 568 to 504 B, jemalloc's
 * size class below.) `expiresAt`
 * keeps its name: the Lua scripts read it without decoding the JSON. Empty params
 * and User-Agent are left out. (A phone's bindings hash 904 → 648 B in MEMORY USAGE
 * against the whole Binding as JSON; docs/benchmarks.md.)
 */
interface StoredBinding {
  u: string;
  p?: string;
  expiresAt: number;
  c: string;
  s: number;
  a: string;
  o: number;
  t: string;
  r: string;
  ua?: string;
  g: number;
  i?: 1 | 2;
  /** Offset in `p` where `"<instance>"` (quotes included) was cut out. */
  n?: number;
  h?: string[];
  q?: number;
}

/** The id of an RFC 5626 binding (RFC 5626 §6: its flow): `<instance>|<reg-id>`, reg-id empty when absent. */
export function instanceBindingId(instance: string, regId: number | undefined): string {
  return `${instance}|${regId ?? ''}`;
}

/** The Contact params of an RFC 5626 phone that sends nothing else (stored as `i: 2`). */
function plainInstanceParams(instance: string, regId: number | undefined): string {
  return `;+sip.instance="${instance}"${regId === undefined ? '' : `;reg-id=${regId}`}`;
}

export function encodeBinding(b: Binding): string {
  // Contact parameters first, before `expiresAt`: text a device chose may precede the key the
  // scripts look for (the tests check that it cannot be taken for it).
  const v = (b.params === '' ? { u: b.uri } : { u: b.uri, p: b.params }) as StoredBinding;
  Object.assign(v, { expiresAt: b.expiresAt, c: b.callId, s: b.cseq, a: b.sourceAddress, o: b.sourcePort, t: b.transport, r: b.receivedOn, g: b.registeredAt });
  if (b.userAgent !== '') v.ua = b.userAgent;
  if (b.instance !== undefined) {
    // Instance and reg-id are read back from the id, so the id must spell them.
    if (b.id !== instanceBindingId(b.instance, b.regId)) throw new Error(`binding ${b.id} does not carry its instance id`);
    if (b.params === plainInstanceParams(b.instance, b.regId)) {
      delete v.p;
      v.i = 2;
    } else {
      v.i = 1;
      const quoted = `"${b.instance}"`;
      const at = b.params.indexOf(quoted);
      if (at >= 0) {
        v.p = b.params.slice(0, at) + b.params.slice(at + quoted.length);
        v.n = at;
      }
    }
  }
  if (b.path !== undefined) v.h = b.path;
  if (b.q !== undefined) v.q = b.q;
  return JSON.stringify(v);
}

/** A stored binding (hash field `id`, value `json`), in either stored form; null when unreadable. */
export function decodeBinding(id: string, json: string): Binding | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  // The first stored form: the whole Binding, id included.
  if (typeof o.id === 'string') return typeof o.expiresAt === 'number' ? (o as unknown as Binding) : null;
  const c = o as unknown as StoredBinding;
  if (typeof c.expiresAt !== 'number' || typeof c.u !== 'string') return null;
  const b: Binding = {
    id, uri: c.u, params: c.p ?? '', expiresAt: c.expiresAt, callId: c.c, cseq: c.s, sourceAddress: c.a,
    sourcePort: c.o, transport: c.t, receivedOn: c.r, userAgent: c.ua ?? '', registeredAt: c.g,
  };
  const bar = c.i === 1 || c.i === 2 ? id.lastIndexOf('|') : -1;
  if (bar >= 0) {
    b.instance = id.slice(0, bar);
    if (bar + 1 < id.length) b.regId = Number(id.slice(bar + 1));
    if (c.i === 2) b.params = plainInstanceParams(b.instance, b.regId);
    else if (typeof c.n === 'number' && c.n >= 0 && c.n <= b.params.length) {
      b.params = `${b.params.slice(0, c.n)}"${b.instance}"${b.params.slice(c.n)}`;
    }
  }
  if (c.h !== undefined) b.path = c.h;
  if (c.q !== undefined) b.q = c.q;
  return b;
}

/** Bindings from a flat `field, value, field, value…` reply (HGETALL order); unreadable ones skipped. */
function parseBindings(pairs: (string | number)[]): Binding[] {
  const out: Binding[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const id = pairs[i];
    const json = pairs[i + 1];
    const b = typeof id === 'string' && typeof json === 'string' ? decodeBinding(id, json) : null;
    if (b) out.push(b);
  }
  return out;
}

const STATUS_FIELDS = ['last', 'ip', 'port', 'tr', 'ua', 'exp', 'lf'] as const;

/** The stored `lf` field, or null when absent or unreadable. */
function parseFailure(json: string | null): RegistrationFailure | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as { at?: unknown; reason?: unknown; ip?: unknown };
    if (typeof v.at !== 'number' || typeof v.reason !== 'string' || typeof v.ip !== 'string') return null;
    return { at: new Date(v.at).toISOString(), reason: v.reason, sourceIp: v.ip };
  } catch {
    return null;
  }
}

/** Derives what the API shows from the status hash fields (in STATUS_FIELDS order). */
function deriveLiveStatus(fields: (string | null)[], now: number): DeviceLiveStatus {
  const [last, ip, port, tr, ua, exp, lf] = fields;
  const lastMs = last ? Number(last) : NaN;
  const expMs = exp ? Number(exp) : 0;
  const everRegistered = Number.isFinite(lastMs);
  const live = everRegistered && expMs > now;
  return {
    registrationStatus: !everRegistered ? 'pending' : live ? 'registered' : 'unregistered',
    lastRegistration: everRegistered ? new Date(lastMs).toISOString() : null,
    ipAddress: ip ?? null,
    port: port ? Number(port) : null,
    transport: tr ?? null,
    userAgent: ua ?? null,
    expiresAt: live ? new Date(expMs).toISOString() : null,
    lastFailure: parseFailure(lf ?? null),
  };
}

/** Reads and writes live registration state. Stateless apart from the Redis client; safe to share. */
export class RegistrationStore {
  readonly keys: ReturnType<typeof registrationKeys>;
  private readonly redis: Scripted;
  private readonly now: () => number;

  constructor(redis: Redis, opts: RegistrationStoreOptions) {
    this.redis = defineScripts(redis);
    this.keys = registrationKeys(opts.prefix);
    this.now = opts.now ?? Date.now;
  }

  /** The live status of one device (one round trip). */
  async getStatus(deviceId: string): Promise<DeviceLiveStatus> {
    const fields = await this.redis.hmget(this.keys.status(deviceId), ...STATUS_FIELDS);
    return deriveLiveStatus(fields, this.now());
  }

  /** The live status of many devices in one pipeline. */
  async getStatuses(deviceIds: string[]): Promise<Map<string, DeviceLiveStatus>> {
    const result = new Map<string, DeviceLiveStatus>();
    if (deviceIds.length === 0) return result;
    // One command per device, sent together: each device's keys are in its own Cluster slot, so
    // one pipeline cannot hold them all there (the API's client auto-pipelines them per node).
    const replies = await Promise.all(deviceIds.map((id) => this.redis.hmget(this.keys.status(id), ...STATUS_FIELDS)));
    const now = this.now();
    deviceIds.forEach((id, i) => result.set(id, deriveLiveStatus(replies[i]!, now)));
    return result;
  }

  /** A consistent snapshot of the device's live bindings and the version a commit must match. */
  async load(deviceId: string): Promise<BindingSnapshot> {
    const replies = (await this.redis
      .multi()
      .hget(this.keys.status(deviceId), 'v')
      .hgetall(this.keys.bindings(deviceId))
      .exec()) ?? [];
    const [vErr, v] = replies[0] ?? [new Error('no reply'), null];
    const [bErr, values] = replies[1] ?? [new Error('no reply'), null];
    if (vErr) throw vErr;
    if (bErr) throw bErr;
    const now = this.now();
    const bindings = parseBindings(Object.entries((values as Record<string, string> | null) ?? {}).flat()).filter((b) => b.expiresAt > now);
    return { version: v ? Number(v) : 0, bindings };
  }

  /**
   * The snapshot an authenticated REGISTER works on, read in one command that
   * also enforces the digest nonce-count (RFC 7616 §3.4): `replay` is true, and
   * nothing is recorded, when `nc` is not higher than the last count seen with
   * `nonce`. `nonceLifetimeMs` bounds how long a nonce's count is remembered
   * (the nonce is refused as stale after that anyway).
   */
  async loadAuthenticated(
    deviceId: string,
    nonce: { value: string; issuedAt: number; nc: number; lifetimeMs: number },
  ): Promise<BindingSnapshot & { replay: boolean }> {
    const k = this.keys;
    const reply = await this.redis.regLoad(
      k.status(deviceId), k.bindings(deviceId), k.nonces(deviceId),
      nonce.value, nonce.issuedAt, nonce.nc, nonce.lifetimeMs,
    );
    const now = this.now();
    const bindings = parseBindings(reply.slice(2)).filter((b) => b.expiresAt > now);
    return { replay: reply[0] !== 1, version: Number(reply[1]), bindings };
  }

  /** How many devices have bindings in the reaper index (devices registered now, give or take one reaper pass). */
  async countIndexed(): Promise<number> {
    return this.redis.zcard(this.keys.expiryIndex);
  }

  /** Live bindings of a device (expired ones left out), oldest first. */
  async listBindings(deviceId: string): Promise<Binding[]> {
    const { bindings } = await this.load(deviceId);
    return bindings.sort((a, b) => a.registeredAt - b.registeredAt);
  }

  /**
   * Applies a request's changes atomically if nobody wrote since `expectedVersion`
   * (optimistic concurrency: the caller re-loads and retries on conflict).
   * Returns the device's bindings after the change as soon as they are committed;
   * the reaper index follows (`indexed`).
   */
  async commit(deviceId: string, expectedVersion: number, change: CommitChange): Promise<CommitResult> {
    const now = this.now();
    const args: (string | number)[] = [expectedVersion, now, change.succeeded ? 1 : 0, change.upserts.length];
    for (const b of change.upserts) args.push(b.id, encodeBinding(b));
    args.push(change.removals.length, ...change.removals);
    if (change.source) {
      const s = change.source;
      args.push(s.ipAddress, s.port, s.transport, s.userAgent);
    } else {
      args.push('');
    }
    const reply = await this.redis.regCommit(this.keys.bindings(deviceId), this.keys.status(deviceId), ...args);
    if (reply[0] === -1) return { ok: false, reason: 'conflict' };
    const bindings = parseBindings(reply.slice(1));
    let min = 0;
    for (const b of bindings) if (min === 0 || b.expiresAt < min) min = b.expiresAt;
    // The reaper index lives in another Cluster slot than the device's keys, so it cannot join
    // the script. A plain command, not an ioredis pipeline: on this path pipelines keep one
    // another reachable until a full GC (docs/benchmarks.md, "Garbage collection").
    const indexed = (min > 0 ? this.redis.zadd(this.keys.expiryIndex, min, deviceId) : this.redis.zrem(this.keys.expiryIndex, deviceId)).then(() => undefined);
    indexed.catch(() => undefined); // whoever awaits it still sees the error
    return { ok: true, version: Number(reply[0]), bindings, indexed };
  }

  /** Removes every binding of a device (admin kick, deactivation, password reset). Returns the ones that were live. */
  async removeBindings(deviceId: string): Promise<Binding[]> {
    const removed = parseBindings(await this.redis.regRemoveAll(this.keys.bindings(deviceId), this.keys.status(deviceId)));
    await this.redis.zrem(this.keys.expiryIndex, deviceId);
    const now = this.now();
    return removed.filter((b) => b.expiresAt > now);
  }

  /** Forgets everything about a deleted device. */
  async forgetDevice(deviceId: string): Promise<void> {
    // The device's keys share its slot; the reaper index is elsewhere (two commands on a Cluster).
    await Promise.all([this.redis.del(this.keys.bindings(deviceId), this.keys.status(deviceId), this.keys.nonces(deviceId)), this.redis.zrem(this.keys.expiryIndex, deviceId)]);
  }

  /**
   * Records a failed REGISTER of a device as its `lastFailure` (until its next
   * successful REGISTER). One command in the device's slot.
   */
  async recordFailure(deviceId: string, failure: { at: number; reason: string; sourceIp: string }): Promise<void> {
    await this.redis.hset(this.keys.status(deviceId), 'lf', JSON.stringify({ at: failure.at, reason: failure.reason, ip: failure.sourceIp }));
  }

  /** Forgets a device's last failure (a successful REGISTER that changed no binding, e.g. a query). */
  async clearFailure(deviceId: string): Promise<void> {
    await this.redis.hdel(this.keys.status(deviceId), 'lf');
  }

  /**
   * Removes bindings that expired by now from up to `limit` due devices. Safe to
   * run from several processes: each binding is reaped once. Returns the reaped bindings.
   */
  async reapExpired(limit = 500): Promise<ExpiredBinding[]> {
    const now = this.now();
    const due = await this.redis.zrangebyscore(this.keys.expiryIndex, '-inf', now, 'LIMIT', 0, limit);
    const reaped: ExpiredBinding[] = [];
    for (const deviceId of due) {
      const reply = await this.redis.regReap(this.keys.bindings(deviceId), this.keys.status(deviceId), now);
      const nextExpiry = Number(reply[0]);
      for (const binding of parseBindings(reply.slice(1))) reaped.push({ deviceId, binding });
      if (nextExpiry > 0) await this.redis.zadd(this.keys.expiryIndex, nextExpiry, deviceId);
      else await this.redis.zrem(this.keys.expiryIndex, deviceId);
    }
    return reaped;
  }

  /** Tells every registrar process to drop cached credentials of a device. */
  async publishInvalidation(inv: Invalidation): Promise<void> {
    await this.redis.publish(this.keys.invalidations, JSON.stringify(inv));
  }

  /**
   * Subscribes `subscriber` (a dedicated connection: Redis forbids other
   * commands on it) to invalidations. Malformed messages are ignored.
   */
  async subscribeInvalidations(subscriber: Redis, onInvalidation: (inv: Invalidation) => void): Promise<void> {
    const channel = this.keys.invalidations;
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      try {
        const inv = JSON.parse(message) as Partial<Invalidation>;
        if (typeof inv.deviceId === 'string' && typeof inv.sipUsername === 'string' && typeof inv.sipDomain === 'string') {
          onInvalidation({ deviceId: inv.deviceId, sipUsername: inv.sipUsername, sipDomain: inv.sipDomain });
        }
      } catch {
        // Not ours or corrupted: ignoring it keeps the cache TTL as the fallback.
      }
    });
    await subscriber.subscribe(channel);
  }
}
