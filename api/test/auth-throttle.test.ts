import { ApiKeyVerifier, createApiKey } from '../api-keys';
import { Harness, startHarness } from './helpers/harness';

/**
 * Failed-authentication throttling. The API trusts X-Forwarded-For from
 * loopback here, so each test plays its own client address; the API's clock
 * is injected to cross window boundaries.
 */

const LIMIT = 3;
const WINDOW_S = 60;

let h: Harness;
let now = 1_700_000_000_000;
let acc: { accountId: string; key: string; keyId: string };

beforeAll(async () => {
  h = await startHarness(
    { API_AUTH_FAILURE_LIMIT: String(LIMIT), API_AUTH_FAILURE_WINDOW_S: String(WINDOW_S), API_TRUST_PROXY: 'loopback', API_KEY_CACHE_TTL_MS: '600000' },
    { now: () => now },
  );
  acc = await h.createAccount('Throttled');
});
afterAll(async () => {
  await h.close();
});

const wrongSecret = (key: string): string => key.replace(/_[A-Za-z0-9]+$/, '_' + 'x'.repeat(32));
const from = (address: string, token: string | null): { token: string | null; headers: Record<string, string> } => ({ token, headers: { 'X-Forwarded-For': address } });

/** Names of the prepared statements run against PostgreSQL while `fn` runs. */
async function queriesDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const spy = jest.spyOn(h.db.pool, 'query');
  try {
    await fn();
    return spy.mock.calls.map((c) => (typeof c[0] === 'object' ? String((c[0] as { name?: string }).name) : String(c[0])));
  } finally {
    spy.mockRestore();
  }
}

describe('failed API key verifications are rate limited per client address', () => {
  it(`${LIMIT} wrong secrets get 401, the next request 429 with Retry-After and a problem document, without PostgreSQL or argon2`, async () => {
    const path = `/v2/accounts/${acc.accountId}`;
    const ip = '198.51.100.1';
    for (let i = 0; i < LIMIT; i++) {
      const r = await h.req('GET', path, from(ip, wrongSecret(acc.key)));
      expect([i, r.status, r.body.code]).toEqual([i, 401, 'unauthenticated']);
    }
    let r!: Awaited<ReturnType<Harness['req']>>;
    const queries = await queriesDuring(async () => {
      r = await h.req('GET', path, from(ip, wrongSecret(acc.key))); // the harness checks it against the OpenAPI document
    });
    expect(r.status).toBe(429);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.headers.get('retry-after')).toBe(String(WINDOW_S));
    expect(r.body).toMatchObject({ status: 429, code: 'too-many-requests', type: 'urn:sipreg:problem:too-many-requests', instance: path });
    expect(queries).toEqual([]);

    // Any other key this process has not verified yet is refused too, even a valid one, and so is no key at all.
    const fresh = await createApiKey(h.db.pool, acc.accountId, 'fresh');
    expect((await h.req('GET', path, from(ip, fresh.key))).status).toBe(429);
    expect((await h.req('POST', `${path}/devices/sip`, { ...from(ip, null), body: { name: 'x' } })).status).toBe(429);

    // One warn line when the address crossed the limit: address and count, never the presented key.
    const warns = h.logs.filter((l) => l.includes('"level":40') && l.includes('over the limit'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0]!)).toMatchObject({ address: ip, failures: LIMIT, windowS: WINDOW_S });
    expect(warns[0]).not.toContain(wrongSecret(acc.key));
    expect(warns[0]).not.toContain('xxxxxxxx');
  });

  it('a key this process already verified keeps working from a throttled address, and so does ADMIN_API_KEY', async () => {
    const ip = '198.51.100.2';
    const known = await createApiKey(h.db.pool, acc.accountId, 'known');
    expect((await h.req('GET', `/v2/accounts/${acc.accountId}`, from('203.0.113.9', known.key))).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) await h.req('GET', `/v2/accounts/${acc.accountId}`, from(ip, wrongSecret(known.key)));
    expect((await h.req('GET', `/v2/accounts/${acc.accountId}`, from(ip, wrongSecret(known.key)))).status).toBe(429);

    let status = 0;
    const queries = await queriesDuring(async () => {
      status = (await h.req('GET', `/v2/accounts/${acc.accountId}/devices/sip`, from(ip, known.key))).status;
    });
    expect(status).toBe(200);
    expect(queries).not.toContain('api-key-by-id');
    expect((await h.req('GET', '/v2/accounts', from(ip, h.adminKey))).status).toBe(200);
  });

  it('other addresses are not affected by a throttled one', async () => {
    const path = `/v2/accounts/${acc.accountId}`;
    for (let i = 0; i <= LIMIT; i++) await h.req('GET', path, from('198.51.100.3', wrongSecret(acc.key)));
    expect((await h.req('GET', path, from('198.51.100.3', wrongSecret(acc.key)))).status).toBe(429);
    expect((await h.req('GET', path, from('198.51.100.4', wrongSecret(acc.key)))).status).toBe(401);
    const fresh = await createApiKey(h.db.pool, acc.accountId, 'other address');
    expect((await h.req('GET', path, from('198.51.100.4', fresh.key))).status).toBe(200);
  });

  it('Retry-After counts down with the window; once it ends the address may try again', async () => {
    const path = `/v2/accounts/${acc.accountId}`;
    const ip = '198.51.100.5';
    for (let i = 0; i < LIMIT; i++) expect((await h.req('GET', path, from(ip, wrongSecret(acc.key)))).status).toBe(401);
    now += 45_500;
    const r = await h.req('GET', path, from(ip, wrongSecret(acc.key)));
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('15');
    now += 14_500; // the window is over
    const fresh = await createApiKey(h.db.pool, acc.accountId, 'after the window');
    expect((await h.req('GET', path, from(ip, fresh.key))).status).toBe(200);
    // A new window: the limit applies afresh.
    for (let i = 0; i < LIMIT; i++) expect((await h.req('GET', path, from(ip, wrongSecret(acc.key)))).status).toBe(401);
    expect((await h.req('GET', path, from(ip, wrongSecret(acc.key)))).status).toBe(429);
  });

  it('without API_TRUST_PROXY X-Forwarded-For is ignored: the socket address is the client', async () => {
    const other = await startHarness({ API_AUTH_FAILURE_LIMIT: '2' });
    try {
      const a = await other.createAccount('Socket');
      const path = `/v2/accounts/${a.accountId}`;
      expect((await other.req('GET', path, from('192.0.2.1', wrongSecret(a.key)))).status).toBe(401);
      expect((await other.req('GET', path, from('192.0.2.2', wrongSecret(a.key)))).status).toBe(401);
      const r = await other.req('GET', path, from('192.0.2.3', wrongSecret(a.key)));
      expect(r.status).toBe(429);
      expect(other.logs.join('')).toMatch(/"address":"(::ffff:)?127\.0\.0\.1"/);
      // From the throttled socket address only known keys still work.
      expect((await other.req('GET', path, { token: a.key })).status).toBe(429);
      expect((await other.req('GET', path, { token: other.adminKey })).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('API_AUTH_FAILURE_LIMIT=0 (limiter off)', () => {
  it('failures are never refused with 429 and log no "address throttled" warning', async () => {
    const off = await startHarness({ API_AUTH_FAILURE_LIMIT: '0' });
    try {
      const a = await off.createAccount('Unlimited');
      for (let i = 0; i < 5; i++) expect((await off.req('GET', `/v2/accounts/${a.accountId}`, { token: wrongSecret(a.key) })).status).toBe(401);
      expect((await off.req('GET', `/v2/accounts/${a.accountId}`, { token: a.key })).status).toBe(200);
      expect(off.logs.filter((l) => l.includes('over the limit'))).toEqual([]);
    } finally {
      await off.close();
    }
  });
});

describe('argon2 concurrency cap', () => {
  it('with every verification slot and the queue taken, an unknown key gets 503 with Retry-After; known keys are not held up', async () => {
    const busy = await startHarness({ API_ARGON2_MAX_CONCURRENCY: '1', API_ARGON2_MAX_QUEUE: '0', API_TRUST_PROXY: 'loopback' });
    try {
      const a = await busy.createAccount('Busy');
      const path = `/v2/accounts/${a.accountId}`;
      // Hold the only slot: the key lookup of the first verification waits for this lock.
      const lock = await busy.db.pool.connect();
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE');
      const first = busy.req('GET', path, from('192.0.2.10', wrongSecret(a.key)));
      // Wait until that lookup is blocked on the lock (it then holds the slot).
      for (let i = 0; i < 200; i++) {
        const { rows } = await busy.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'api_keys'::regclass");
        if (rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const refused = await busy.req('GET', path, from('192.0.2.11', wrongSecret(a.key)));
      const known = await busy.req('GET', path, { token: busy.adminKey });
      await lock.query('ROLLBACK');
      lock.release();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.code).toBe('service-unavailable');
      expect(known.status).toBe(200);
      expect((await first).status).toBe(401);
    } finally {
      await busy.close();
    }
  });
});

describe('ApiKeyVerifier.verifyCached', () => {
  it('answers only ADMIN_API_KEY and keys verified (and not forgotten) by this verifier', async () => {
    const admin = 'a'.repeat(32);
    const v = new ApiKeyVerifier(h.db.pool, { cacheTtlMs: 10_000, cacheMax: 10, adminKey: admin });
    const { key, record } = await createApiKey(h.db.pool, acc.accountId, 'cached?');
    const cached = (k: string): Promise<unknown> | undefined => v.verifyCached(k);
    expect(await cached(admin)).toEqual({ kind: 'operator', keyId: 'admin-env' });
    expect(cached(key)).toBeUndefined();
    expect(await v.verify(wrongSecret(key))).toBeNull();
    expect(cached(wrongSecret(key))).toBeUndefined();
    expect(await v.verify(key)).not.toBeNull();
    expect(await cached(key)).toEqual({ kind: 'account', keyId: record.id, accountId: acc.accountId });
    expect(cached(wrongSecret(key))).toBeUndefined();
    v.forgetKey(record.id);
    expect(cached(key)).toBeUndefined();
  });
});
