import type { Pool } from 'pg';
import type { Invalidation } from '../shared/registration-store';
import { ServiceUnavailableError } from './errors';

/** What the registrar needs of a device to authenticate it (read-only view of the devices table). */
export interface DeviceCredentials {
  id: string;
  accountId: string;
  sipUsername: string;
  sipDomain: string;
  active: boolean;
  ha1Md5: string;
  ha1Sha256: string;
  /** Previous credentials accepted until prevExpiresAt (password reset with a grace period). */
  prevHa1Md5: string | null;
  prevHa1Sha256: string | null;
  prevExpiresAt: number | null;
}

/**
 * A deleted device's SIP identity and last HA1 values (device_tombstones, written
 * by the API's delete). Only consulted when no live device has this identity.
 */
export interface DeviceTombstone {
  deviceId: string;
  accountId: string;
  ha1Md5: string;
  ha1Sha256: string;
}

/** What one SIP identity resolves to: the live device, else possibly a deleted one's tombstone. */
export interface CredentialLookup {
  device: DeviceCredentials | null;
  /** Always null when `device` is set: the live device wins. */
  tombstone: DeviceTombstone | null;
}

interface Entry extends CredentialLookup {
  fetchedAt: number;
  /** Set after missed invalidations: the next lookup waits for a re-read instead of serving this entry. */
  mustReread?: boolean;
}

interface DeviceRow {
  live: boolean;
  id: string;
  account_id: string;
  sip_username: string;
  sip_domain: string;
  status: string;
  ha1_md5: string;
  ha1_sha256: string;
  prev_ha1_md5: string | null;
  prev_ha1_sha256: string | null;
  prev_expires_at: Date | null;
}

/**
 * The live device and the tombstone of a deleted one with this identity, in one
 * round trip (two unique-index probes); the caller prefers the live row.
 */
const QUERY = {
  name: 'registrar_device_credentials',
  text: `SELECT true AS live, id, account_id, sip_username, sip_domain, status, ha1_md5, ha1_sha256, prev_ha1_md5, prev_ha1_sha256, prev_expires_at
           FROM devices WHERE sip_domain = $1 AND sip_username = $2
         UNION ALL
         SELECT false, device_id, account_id, sip_username, sip_domain, 'deleted', ha1_md5, ha1_sha256, NULL, NULL, NULL
           FROM device_tombstones WHERE sip_domain = $1 AND sip_username = $2`,
};

export interface CredentialCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  retryAfterS: number;
  now?: () => number;
}

/**
 * Device credentials by (domain, username), read from PostgreSQL and cached in
 * process. The API's invalidation messages drop entries at once; the TTL only
 * bounds how long a missed invalidation could go unnoticed. A live device's entry
 * past `ttlMs` is still answered at once while it is re-read in the background,
 * so a registration never waits for PostgreSQL because of the TTL (phones
 * re-register less often than the TTL, so otherwise nearly every REGISTER would).
 * Missing devices (with a deleted device's tombstone, if any) are re-read after
 * `negativeTtlMs` before answering: one query per unknown identity and TTL, however
 * often it is tried, and a new device needs no invalidation to be found. While
 * PostgreSQL is unreachable, a live entry keeps being served; an uncached or
 * missing device gets 503.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<CredentialLookup>>();
  private readonly now: () => number;

  constructor(private readonly pool: Pool, private readonly opts: CredentialCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  private static key(domain: string, username: string): string {
    return `${domain}\n${username}`;
  }

  /**
   * The live device with this SIP identity or, when there is none, the tombstone
   * of a deleted one (or neither). Throws ServiceUnavailableError when it cannot tell.
   */
  lookup(domain: string, username: string): Promise<CredentialLookup> {
    const key = CredentialCache.key(domain, username);
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry && !entry.mustReread) {
      if (entry.device) {
        if (now - entry.fetchedAt >= this.opts.ttlMs) void this.reread(domain, username, key, entry).catch(() => undefined);
        return Promise.resolve(entry);
      }
      if (now - entry.fetchedAt < this.opts.negativeTtlMs) return Promise.resolve(entry);
    }
    return this.reread(domain, username, key, entry);
  }

  /** One query per identity at a time, however many REGISTERs ask. */
  private reread(domain: string, username: string, key: string, entry: Entry | undefined): Promise<CredentialLookup> {
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = this.fetch(domain, username, key, entry).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async fetch(domain: string, username: string, key: string, stale: Entry | undefined): Promise<CredentialLookup> {
    let rows: DeviceRow[];
    try {
      rows = (await this.pool.query<DeviceRow>({ ...QUERY, values: [domain, username] })).rows;
    } catch (err) {
      // PostgreSQL down: keep serving what we knew (only known devices; a cached "unknown" is not trusted forever).
      if (stale?.device) return stale;
      throw new ServiceUnavailableError('CREDENTIALS_UNAVAILABLE', this.opts.retryAfterS, `credential store unavailable: ${(err as Error).message}`);
    }
    const r = rows.find((row) => row.live);
    const t = r ? undefined : rows[0];
    const device: DeviceCredentials | null = r
      ? {
          id: r.id,
          accountId: r.account_id,
          sipUsername: r.sip_username,
          sipDomain: r.sip_domain,
          active: r.status === 'active',
          ha1Md5: r.ha1_md5,
          ha1Sha256: r.ha1_sha256,
          prevHa1Md5: r.prev_ha1_md5,
          prevHa1Sha256: r.prev_ha1_sha256,
          prevExpiresAt: r.prev_expires_at ? r.prev_expires_at.getTime() : null,
        }
      : null;
    const tombstone: DeviceTombstone | null = t ? { deviceId: t.id, accountId: t.account_id, ha1Md5: t.ha1_md5, ha1Sha256: t.ha1_sha256 } : null;
    const entry: Entry = { device, tombstone, fetchedAt: this.now() };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  /**
   * Drops the entry an API change names — live device, tombstone or miss alike,
   * so a deletion's 403 applies from the next REGISTER. A device's SIP identity
   * never changes (the API cannot edit sipUsername or sipDomain), so the identity
   * finds it: no scan of the whole cache per change.
   */
  invalidate(inv: Invalidation): void {
    // Entries are keyed by the lower-cased Request-URI host; stored domains are lower-case too.
    this.entries.delete(CredentialCache.key(inv.sipDomain.toLowerCase(), inv.sipUsername));
  }

  /** Makes every entry wait for a re-read (after missed invalidations); still usable while PostgreSQL is down. */
  expireAll(): void {
    for (const e of this.entries.values()) e.mustReread = true;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The HA1 values a device may answer with now, for one algorithm (current, plus previous during a grace period). */
export function ha1Candidates(dev: DeviceCredentials, algorithm: 'MD5' | 'SHA-256', now: number): string[] {
  const current = algorithm === 'MD5' ? dev.ha1Md5 : dev.ha1Sha256;
  const prev = algorithm === 'MD5' ? dev.prevHa1Md5 : dev.prevHa1Sha256;
  if (prev && dev.prevExpiresAt !== null && dev.prevExpiresAt > now) return [current, prev];
  return [current];
}

/** The deleted device's HA1 for one algorithm (no grace-period credentials are kept for deleted devices). */
export function tombstoneHa1(t: DeviceTombstone, algorithm: 'MD5' | 'SHA-256'): string {
  return algorithm === 'MD5' ? t.ha1Md5 : t.ha1Sha256;
}

/**
 * The SIP domains served: every account's domain (a device always takes its
 * account's, which never changes) plus the default one. Re-read in the
 * background every `refreshMs` without holding up requests for known domains;
 * an unknown domain waits for a re-read at most once a second. While
 * PostgreSQL is down the last known set stays in force.
 */
export class DomainSet {
  private domains = new Set<string>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    private readonly defaultDomain: string,
    private readonly refreshMs: number,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
    this.domains.add(defaultDomain.toLowerCase());
  }

  async serves(domain: string): Promise<boolean> {
    const d = domain.toLowerCase();
    const age = this.now() - this.loadedAt;
    if (this.domains.has(d)) {
      if (age >= this.refreshMs) void this.refresh();
      return true;
    }
    if (age >= 1_000) await this.refresh();
    return this.domains.has(d);
  }

  /** Re-reads the set; failures keep the previous one. */
  refresh(): Promise<void> {
    if (!this.loading) {
      this.loading = (async () => {
        try {
          const { rows } = await this.pool.query<{ d: string }>({
            name: 'registrar_served_domains',
            text: 'SELECT DISTINCT lower(sip_domain) AS d FROM accounts',
          });
          const next = new Set(rows.map((r) => r.d));
          next.add(this.defaultDomain.toLowerCase());
          this.domains = next;
          this.loadedAt = this.now();
        } catch {
          // Keep the last known set; retry after a second at the earliest.
          this.loadedAt = Math.max(this.loadedAt, this.now() - this.refreshMs + 1_000);
        } finally {
          this.loading = null;
        }
      })();
    }
    return this.loading;
  }
}
