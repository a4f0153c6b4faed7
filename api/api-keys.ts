import { createHash, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import { randomBase62 } from '../shared/credentials';
import type { Queryable } from '../shared/db';
import { newApiKeyId } from './ids';

/**
 * API keys. Presented form `sk_<keyId>_<secret>`: the key id lets one indexed
 * lookup find the row, the row holds only an argon2id hash of the whole key.
 * The key is returned once, at creation.
 */

/** Length of the random secret part: 32 base62 characters (about 190 bits). */
const SECRET_LENGTH = 32;
const PRESENTED = /^sk_(key_[A-Za-z0-9]{1,64})_([A-Za-z0-9]{16,128})$/;

/** Who is calling: a platform-wide operator or one account. */
export type Principal =
  | { readonly kind: 'operator'; readonly keyId: string }
  | { readonly kind: 'account'; readonly keyId: string; readonly accountId: string };

/** An API key as listed (never with its secret or hash). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly accountId: string | null;
  readonly name: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  account_id: string | null;
  name: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

const KEY_COLUMNS = 'id, account_id, name, created_at, revoked_at, last_used_at';


/**
 * Creates a key for `accountId` (null: an operator key). Returns the record and
 * the presented key, which is not stored anywhere and cannot be shown again.
 */
export async function createApiKey(db: Queryable, accountId: string | null, name: string): Promise<{ record: ApiKeyRecord; key: string }> {
  const id = newApiKeyId();
  const key = `sk_${id}_${randomBase62(SECRET_LENGTH)}`;
  const hash = await argon2.hash(key, { type: argon2.argon2id });
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, account_id, name, secret_hash) VALUES ($1, $2, $3, $4) RETURNING ${KEY_COLUMNS}`,
    [id, accountId, name, hash],
  );
  return { record: toRecord(rows[0]!), key };
}

/** Keys of one account (null: operator keys), newest first, revoked ones included. */
export async function listApiKeys(db: Queryable, accountId: string | null): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${KEY_COLUMNS} FROM api_keys WHERE account_id IS NOT DISTINCT FROM $1 ORDER BY created_at DESC, id DESC`,
    [accountId],
  );
  return rows.map(toRecord);
}

/**
 * Revokes a key of `accountId` (null: an operator key). Returns the record, or
 * null when no such key belongs to that owner. Revoking twice keeps the first time.
 */
export async function revokeApiKey(db: Queryable, accountId: string | null, keyId: string): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
      WHERE id = $1 AND account_id IS NOT DISTINCT FROM $2 RETURNING ${KEY_COLUMNS}`,
    [keyId, accountId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The key id ADMIN_API_KEY acts as (it has no row). */
const ADMIN_KEY_ID = 'admin-env';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

interface CacheEntry {
  readonly principal: Principal;
  /** When PostgreSQL last confirmed the key is not revoked (ms). */
  checkedAt: number;
}

/** Options of ApiKeyVerifier. */
export interface ApiKeyVerifierOptions {
  /** How long a confirmation that the key is not revoked is trusted (API_KEY_CACHE_TTL_MS). */
  readonly cacheTtlMs: number;
  /** Most cached verifications (API_KEY_CACHE_MAX); the oldest entry goes first. */
  readonly cacheMax: number;
  /** ADMIN_API_KEY: an operator key that lives only in the environment. */
  readonly adminKey?: string;
  readonly now?: () => number;
}

/**
 * Turns a presented key into a Principal.
 *
 * argon2id costs tens of milliseconds by design, so a successful verification is
 * cached in process under the SHA-256 of the presented key (never the key
 * itself). A key's secret hash never changes, so argon2 runs once per key per
 * process; what must stay fresh is revocation. A cached key is re-confirmed
 * against PostgreSQL (one indexed lookup, no argon2) once its confirmation is
 * older than half the TTL, in the background, while requests keep being served;
 * past the full TTL a request waits for that confirmation. A revocation thus
 * takes effect within `cacheTtlMs` everywhere, and no request ever waits for
 * argon2 on a key that was already verified (a cache expiry would otherwise
 * stall every in-flight request of that key for the length of an argon2 run).
 * Concurrent checks of one key share one query or argon2 run.
 *
 * A revocation by this process (forgetKey) wins over a first verification it
 * overlaps: such a verification neither caches its key nor accepts it without
 * asking PostgreSQL again, after the revocation was committed. (A re-check of a
 * cached key already under way when the revocation commits may still let its
 * waiting request through; the next request is refused.)
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Principal | null>>();
  private readonly rechecks = new Map<string, Promise<boolean>>();
  private readonly adminDigest: Buffer | undefined;
  private readonly now: () => number;
  /** forgetKey() calls so far: a verification that sees this change while it runs may have missed one. */
  private forgets = 0;

  constructor(private readonly db: Queryable, private readonly opts: ApiKeyVerifierOptions) {
    this.adminDigest = opts.adminKey ? sha256(opts.adminKey) : undefined;
    this.now = opts.now ?? Date.now;
  }

  /** The principal of `presented`, or null when it is not a valid, unrevoked key. */
  async verify(presented: string): Promise<Principal | null> {
    const digest = sha256(presented);
    const known = this.cachedByDigest(digest);
    if (known) return known;
    const cacheKey = digest.toString('base64');
    const running = this.inflight.get(cacheKey);
    if (running) return running;
    const p = this.verifySlow(presented, cacheKey).finally(() => this.inflight.delete(cacheKey));
    this.inflight.set(cacheKey, p);
    return p;
  }

  /**
   * verify() without argon2: the answer for the admin key or a key this process
   * verified before (at most a revocation lookup remains), undefined for any other
   * key. Lets callers keep serving known keys while throttling unknown ones.
   */
  verifyCached(presented: string): Promise<Principal | null> | undefined {
    return this.cachedByDigest(sha256(presented));
  }

  /** verifyCached() for the SHA-256 of the presented key (what the cache is keyed by). */
  private cachedByDigest(digest: Buffer): Promise<Principal | null> | undefined {
    if (this.adminDigest && timingSafeEqual(digest, this.adminDigest)) return Promise.resolve({ kind: 'operator', keyId: ADMIN_KEY_ID });
    const cacheKey = digest.toString('base64');
    const hit = this.cache.get(cacheKey);
    if (!hit) return undefined;
    const age = this.now() - hit.checkedAt;
    if (age < this.opts.cacheTtlMs) {
      if (age >= this.opts.cacheTtlMs / 2) this.recheck(cacheKey, hit).catch(() => undefined);
      return Promise.resolve(hit.principal);
    }
    return this.recheck(cacheKey, hit).then((active) => (active ? hit.principal : null));
  }

  /** Which of `keyIds` are valid now (not revoked; the ADMIN_API_KEY's `admin-env` while configured). One query. */
  async activeKeyIds(keyIds: readonly string[]): Promise<Set<string>> {
    const active = new Set<string>();
    if (this.adminDigest && keyIds.includes(ADMIN_KEY_ID)) active.add(ADMIN_KEY_ID);
    const stored = keyIds.filter((k) => k !== ADMIN_KEY_ID);
    if (stored.length === 0) return active;
    const { rows } = await this.db.query<{ id: string }>({
      name: 'api-keys-active',
      text: 'SELECT id FROM api_keys WHERE id = ANY($1::text[]) AND revoked_at IS NULL',
      values: [stored],
    });
    for (const r of rows) active.add(r.id);
    return active;
  }

  /** Drops cached verifications of `keyId` (this process revoked it: no need to wait for the TTL). */
  forgetKey(keyId: string): void {
    this.forgets++;
    for (const [k, v] of this.cache) if (v.principal.keyId === keyId) this.cache.delete(k);
  }

  /** Whether `keyId` is valid now (one indexed lookup). */
  async isActive(keyId: string): Promise<boolean> {
    return (await this.activeKeyIds([keyId])).has(keyId);
  }

  /** Confirms a cached key is still active; drops it from the cache when not. */
  private recheck(cacheKey: string, entry: CacheEntry): Promise<boolean> {
    const running = this.rechecks.get(cacheKey);
    if (running) return running;
    const p = (async () => {
      if (await this.isActive(entry.principal.keyId)) {
        entry.checkedAt = this.now();
        return true;
      }
      this.cache.delete(cacheKey);
      return false;
    })().finally(() => this.rechecks.delete(cacheKey));
    this.rechecks.set(cacheKey, p);
    return p;
  }

  private async verifySlow(presented: string, cacheKey: string): Promise<Principal | null> {
    const m = PRESENTED.exec(presented);
    if (!m) return null;
    // Taken before the row is read: a revocation committed after that read is followed by a forgetKey() (the
    // route revokes, then forgets), either before the check below or after the cache entry exists to be forgotten.
    const forgets = this.forgets;
    const { rows } = await this.db.query<{ account_id: string | null; secret_hash: string }>({
      name: 'api-key-by-id',
      text: 'SELECT account_id, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
      values: [m[1]],
    });
    const row = rows[0];
    if (!row) return null;
    let ok = false;
    try {
      ok = await argon2.verify(row.secret_hash, presented);
    } catch {
      ok = false;
    }
    if (!ok) return null;
    const keyId = m[1]!;
    const principal: Principal = row.account_id === null ? { kind: 'operator', keyId } : { kind: 'account', keyId, accountId: row.account_id };
    const overlapped = this.forgets !== forgets;
    // A key was revoked here while this one was verified, maybe this one (its forgetKey found nothing to forget
    // yet): ask PostgreSQL again, now that the revocation is committed, and cache nothing.
    if (overlapped && !(await this.isActive(keyId))) return null;
    if (this.opts.cacheTtlMs > 0 && !overlapped) {
      if (this.cache.size >= this.opts.cacheMax) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(cacheKey, { principal, checkedAt: this.now() });
    }
    // Best effort: a failed bookkeeping write must not fail the request.
    this.db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]).catch(() => undefined);
    return principal;
  }
}
