import type { Pool } from 'pg';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { CredentialCache, tombstoneHa1 } from '../credential-cache';
import { ServiceUnavailableError } from '../errors';
import { DOMAIN, insertDevice, md5, sha256 } from './support';

/** The credential cache against real PostgreSQL: live devices, deleted devices' tombstones, misses. */
describe('CredentialCache and device tombstones', () => {
  let db: TestDb;
  let queries = 0;
  /** While set, every query through `counting` fails as if PostgreSQL were down. */
  let failing = false;
  let counting: Pool;
  let clock = 1_000_000;
  const accountId = 'acc_cache';

  const cache = (): CredentialCache =>
    new CredentialCache(counting, { ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 100, retryAfterS: 10, now: () => clock });

  const tombstone = (username: string, deviceId: string, password: string): Promise<unknown> =>
    db.pool.query(
      `INSERT INTO device_tombstones (sip_domain, sip_username, ha1_md5, ha1_sha256, device_id, account_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [DOMAIN, username, md5(`${username}:${DOMAIN}:${password}`), sha256(`${username}:${DOMAIN}:${password}`), deviceId, accountId],
    );

  beforeAll(async () => {
    db = await createTestDb();
    // The real pool, with every query counted: what reaches PostgreSQL is what the assertions see.
    counting = new Proxy(db.pool, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return (...args: unknown[]) => {
            queries++;
            if (failing) return Promise.reject(new Error('connection refused'));
            return (target.query as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    await db.pool.query('INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3)', [accountId, 'Cache test', DOMAIN]);
  });
  afterAll(async () => {
    await db.close();
  });

  it('finds a deleted device\'s tombstone and caches it like a miss: one query per negative TTL', async () => {
    await tombstone('olga', 'dev_sip_olga', 'olga-pw');
    const c = cache();
    queries = 0;
    const first = await c.lookup(DOMAIN, 'olga');
    expect(first.device).toBeNull();
    expect(first.tombstone).toEqual({ deviceId: 'dev_sip_olga', accountId, ha1Md5: md5(`olga:${DOMAIN}:olga-pw`), ha1Sha256: sha256(`olga:${DOMAIN}:olga-pw`) });
    expect(tombstoneHa1(first.tombstone!, 'SHA-256')).toBe(sha256(`olga:${DOMAIN}:olga-pw`));
    expect(tombstoneHa1(first.tombstone!, 'MD5')).toBe(md5(`olga:${DOMAIN}:olga-pw`));
    await Promise.all([c.lookup(DOMAIN, 'olga'), c.lookup(DOMAIN, 'olga'), c.lookup(DOMAIN, 'olga')]);
    expect(queries).toBe(1);
    // A plain unknown user is cached the same way.
    expect(await c.lookup(DOMAIN, 'nobody')).toEqual(expect.objectContaining({ device: null, tombstone: null }));
    await c.lookup(DOMAIN, 'nobody');
    expect(queries).toBe(2);
    clock += 5_000;
    await c.lookup(DOMAIN, 'olga');
    expect(queries).toBe(3);
  });

  it('prefers the live device when the identity was re-created after a delete', async () => {
    await tombstone('pete', 'dev_sip_pete_old', 'pete-old-pw');
    await insertDevice(db.pool, accountId, { id: 'dev_sip_pete', username: 'pete', password: 'pete-new-pw' });
    const found = await cache().lookup(DOMAIN, 'pete');
    expect(found.device).toMatchObject({ id: 'dev_sip_pete', ha1Md5: md5(`pete:${DOMAIN}:pete-new-pw`) });
    expect(found.tombstone).toBeNull();
  });

  it('drops a cached tombstone (or miss) on the invalidation of that identity', async () => {
    const c = cache();
    queries = 0;
    expect((await c.lookup(DOMAIN, 'quinn')).tombstone).toBeNull();
    await tombstone('quinn', 'dev_sip_quinn', 'quinn-pw');
    expect((await c.lookup(DOMAIN, 'quinn')).tombstone).toBeNull(); // still the cached miss
    c.invalidate({ deviceId: 'dev_sip_quinn', sipUsername: 'quinn', sipDomain: DOMAIN });
    expect((await c.lookup(DOMAIN, 'quinn')).tombstone?.deviceId).toBe('dev_sip_quinn');
    expect(queries).toBe(2);
  });

  it('answers a live device past its TTL at once and re-reads it in the background; after missed invalidations it waits', async () => {
    await insertDevice(db.pool, accountId, { id: 'dev_sip_rita', username: 'rita', password: 'rita-pw-1' });
    const c = cache();
    queries = 0;
    expect((await c.lookup(DOMAIN, 'rita')).device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-1`));
    // Changed behind the cache's back (no invalidation): only the TTL can bring it in.
    const setPassword = (pw: string): Promise<unknown> =>
      db.pool.query('UPDATE devices SET ha1_md5 = $1 WHERE id = $2', [md5(`rita:${DOMAIN}:${pw}`), 'dev_sip_rita']);
    await setPassword('rita-pw-2');
    expect((await c.lookup(DOMAIN, 'rita')).device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-1`)); // within the TTL
    expect(queries).toBe(1);
    clock += 60_000;
    // Past the TTL: the cached credentials answer without waiting, and one re-read starts.
    const [a, b] = await Promise.all([c.lookup(DOMAIN, 'rita'), c.lookup(DOMAIN, 'rita')]);
    expect(a.device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-1`));
    expect(b.device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-1`));
    expect(queries).toBe(2);
    for (let i = 0; i < 50 && (await c.lookup(DOMAIN, 'rita')).device?.ha1Md5 !== md5(`rita:${DOMAIN}:rita-pw-2`); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await c.lookup(DOMAIN, 'rita')).device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-2`));
    expect(queries).toBe(2);
    // After missed invalidations the next lookup waits for PostgreSQL.
    await setPassword('rita-pw-3');
    c.expireAll();
    expect((await c.lookup(DOMAIN, 'rita')).device?.ha1Md5).toBe(md5(`rita:${DOMAIN}:rita-pw-3`));
    expect(queries).toBe(3);
  });

  it('while PostgreSQL is down, serves a known device even when it must be re-read, and refuses unknown ones with 503', async () => {
    await insertDevice(db.pool, accountId, { id: 'dev_sip_sam', username: 'sam', password: 'sam-pw' });
    const c = cache();
    expect((await c.lookup(DOMAIN, 'sam')).device?.id).toBe('dev_sip_sam');
    c.expireAll(); // the next lookup must wait for a re-read...
    failing = true;
    try {
      queries = 0;
      expect((await c.lookup(DOMAIN, 'sam')).device?.id).toBe('dev_sip_sam'); // ...which fails: the entry still answers
      expect(queries).toBe(1);
      await expect(c.lookup(DOMAIN, 'nobody-known')).rejects.toBeInstanceOf(ServiceUnavailableError);
    } finally {
      failing = false;
    }
  });
});
