import { createApiKey, ApiKeyVerifier } from '../api-keys';
import { deviceBody, Harness, startHarness } from './helpers/harness';

let h: Harness;
let a: { accountId: string; key: string; keyId: string };
let b: { accountId: string; key: string; keyId: string };
let bDevice: string;

beforeAll(async () => {
  h = await startHarness();
  a = await h.createAccount('Tenant A');
  b = await h.createAccount('Tenant B', 'b.sip.example');
  const r = await h.req('POST', `/v2/accounts/${b.accountId}/devices/sip`, { token: b.key, body: deviceBody(1) });
  bDevice = r.body.id;
});
afterAll(async () => {
  await h.close();
});

describe('authentication (X-Auth-Token)', () => {
  it('401 without a key, with an unknown key, a malformed key, or a wrong secret for a real key id', async () => {
    const path = `/v2/accounts/${a.accountId}/devices/sip`;
    const wrongSecret = a.key.replace(/_[A-Za-z0-9]+$/, '_' + 'x'.repeat(32));
    for (const token of [null, 'nope', 'sk_key_AAAAAAAAAAAAAAAA_' + 'a'.repeat(32), wrongSecret, '']) {
      const r = await h.req('GET', path, { token });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('unauthenticated');
    }
  });

  it('401 comes before body checks: no key and a malformed body is still 401', async () => {
    const r = await h.req('POST', `/v2/accounts/${a.accountId}/devices/sip`, { token: null, raw: '{', contentType: 'application/json' });
    expect(r.status).toBe(401);
  });

  it('health and the OpenAPI document need no key', async () => {
    expect((await h.req('GET', '/livez', { token: null })).status).toBe(200);
    expect((await h.req('GET', '/readyz', { token: null })).status).toBe(200);
    expect((await h.req('GET', '/v2/openapi.json', { token: null })).status).toBe(200);
    expect((await h.req('GET', '/v1/openapi.json', { token: null, skipOpenApi: true })).status).toBe(200);
  });

  it('ADMIN_API_KEY is an operator key', async () => {
    const r = await h.req('GET', `/v2/accounts/${b.accountId}/devices/sip/${bDevice}`, { token: h.adminKey });
    expect(r.status).toBe(200);
  });

  it('an operator key stored in the database sees every account', async () => {
    const { key } = await createApiKey(h.db.pool, null, 'ops');
    expect((await h.req('GET', `/v2/accounts/${b.accountId}/devices/sip/${bDevice}`, { token: key })).status).toBe(200);
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: key })).status).toBe(200);
  });
});

describe('tenant isolation', () => {
  const bDev = (): string => `/v2/accounts/${b.accountId}/devices/sip/${bDevice}`;

  it("account A's key gets 404 for every route of B's device", async () => {
    const tries: [string, string, unknown?][] = [
      ['GET', bDev()],
      ['PATCH', bDev(), { name: 'pwned' }],
      ['DELETE', bDev()],
      ['GET', `${bDev()}/credentials`],
      ['POST', `${bDev()}/reset-password`],
      ['GET', `${bDev()}/registrations`],
      ['DELETE', `${bDev()}/registrations`],
    ];
    for (const [method, path, body] of tries) {
      const r = await h.req(method, path, { token: a.key, body });
      expect([method, path, r.status]).toEqual([method, path, 404]);
      // Nothing of B's device comes back (the problem's `instance` only echoes the requested path).
      expect(r.text).not.toContain('Desk Phone 1');
      expect(r.text).not.toContain('b.sip.example');
    }
    // ...and B's device is untouched.
    const still = await h.req('GET', bDev(), { token: b.key });
    expect(still.body.name).toBe('Desk Phone 1');
  });

  it("account A's key cannot reach B's device through A's own path either", async () => {
    const r = await h.req('GET', `/v2/accounts/${a.accountId}/devices/sip/${bDevice}`, { token: a.key });
    expect(r.status).toBe(404);
  });

  it("account A's key gets 403 for B's collections and account", async () => {
    const tries: [string, string, unknown?][] = [
      ['GET', `/v2/accounts/${b.accountId}/devices/sip`],
      ['POST', `/v2/accounts/${b.accountId}/devices/sip`, deviceBody(99)],
      ['GET', `/v2/accounts/${b.accountId}`],
      ['GET', `/v2/accounts/${b.accountId}/api-keys`],
      ['POST', `/v2/accounts/${b.accountId}/api-keys`, { name: 'x' }],
      ['DELETE', `/v2/accounts/${b.accountId}/api-keys/${b.keyId}`],
    ];
    for (const [method, path, body] of tries) {
      const r = await h.req(method, path, { token: a.key, body });
      expect([method, path, r.status, r.body.code]).toEqual([method, path, 403, 'forbidden']);
    }
    expect((await h.req('GET', `/v2/accounts/${b.accountId}/devices/sip/${bDevice}`, { token: b.key })).status).toBe(200);
  });

  it('operator-only routes answer 403 to account keys', async () => {
    expect((await h.req('POST', '/v2/accounts', { token: a.key, body: { name: 'sneaky' } })).status).toBe(403);
    expect((await h.req('GET', '/v2/accounts', { token: a.key })).status).toBe(403);
    expect((await h.req('GET', '/v2/sip-blocks', { token: a.key })).status).toBe(403);
    expect((await h.req('DELETE', '/v2/sip-blocks/192.0.2.1', { token: a.key })).status).toBe(403);
  });

  it("a list with A's key shows only A's devices", async () => {
    await h.req('POST', `/v2/accounts/${a.accountId}/devices/sip`, { token: a.key, body: deviceBody(2) });
    const r = await h.req('GET', `/v2/accounts/${a.accountId}/devices/sip`, { token: a.key });
    expect(r.body.data.length).toBeGreaterThan(0);
    expect(r.body.data.every((d: { accountId: string }) => d.accountId === a.accountId)).toBe(true);
  });
});

describe('accounts', () => {
  it('an operator creates an account: 201 with the account and its first key, which works at once', async () => {
    const r = await h.req('POST', '/v2/accounts', { body: { name: 'Acme', sipDomain: 'Acme.SIP.example' } });
    expect(r.status).toBe(201);
    expect(r.body.account).toMatchObject({ name: 'Acme', sipDomain: 'acme.sip.example' });
    expect(r.body.account.id).toMatch(/^acc_/);
    expect(r.body.apiKey.key).toMatch(/^sk_key_[A-Za-z0-9]+_[A-Za-z0-9]{32}$/);
    expect(r.body.apiKey.accountId).toBe(r.body.account.id);
    const got = await h.req('GET', `/v2/accounts/${r.body.account.id}`, { token: r.body.apiKey.key });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body.account);
    const dev = await h.req('POST', `/v2/accounts/${r.body.account.id}/devices/sip`, { token: r.body.apiKey.key, body: deviceBody(3) });
    expect(dev.body.sipDomain).toBe('acme.sip.example');
  });

  it('per-account SIP settings override the configured ones in the credentials endpoint; PATCH is operator-only', async () => {
    const r = await h.req('POST', '/v2/accounts', { body: { name: 'Override', sipDomain: 'ov.sip.example', sipServer: 'edge.ov.example', transportProtocol: 'TLS' } });
    expect(r.status).toBe(201);
    expect(r.body.account).toMatchObject({ sipServer: 'edge.ov.example', sipPort: null, outboundProxy: null, transportProtocol: 'TLS' });
    const id = r.body.account.id;
    const key = r.body.apiKey.key;
    const dev = await h.req('POST', `/v2/accounts/${id}/devices/sip`, { token: key, body: deviceBody(40) });
    const creds = async (): Promise<Record<string, unknown>> => (await h.req('GET', `/v2/accounts/${id}/devices/sip/${dev.body.id}/credentials`, { token: key })).body;
    expect(await creds()).toMatchObject({ sipServer: 'edge.ov.example', sipPort: 5060, outboundProxy: 'edge.ov.example:5060', transportProtocol: 'TLS', sipDomain: 'ov.sip.example' });

    expect((await h.req('PATCH', `/v2/accounts/${id}`, { token: key, body: { sipPort: 5061 } })).status).toBe(403);
    const p = await h.req('PATCH', `/v2/accounts/${id}`, { body: { sipPort: 5061, outboundProxy: 'proxy.ov.example:5080', sipServer: null } });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ sipServer: null, sipPort: 5061, outboundProxy: 'proxy.ov.example:5080', sipDomain: 'ov.sip.example' });
    expect(await creds()).toMatchObject({ sipServer: 'ov.sip.example', sipPort: 5061, outboundProxy: 'proxy.ov.example:5080', transportProtocol: 'TLS' });

    expect((await h.req('PATCH', `/v2/accounts/${id}`, { body: { sipDomain: 'other.example' } })).status).toBe(422);
    expect((await h.req('PATCH', `/v2/accounts/${id}`, { body: { transportProtocol: 'SCTP' } })).status).toBe(422);
    expect((await h.req('PATCH', '/v2/accounts/acc_doesnotexist', { body: { name: 'x' } })).status).toBe(404);
  });

  it('an account without sipDomain gets SIP_DEFAULT_DOMAIN', async () => {
    const r = await h.req('POST', '/v2/accounts', { body: { name: 'Plain' } });
    expect(r.body.account.sipDomain).toBe('sip.test.example');
  });

  it('account creation validates its body (422) and an unknown account is 404', async () => {
    const bad = await h.req('POST', '/v2/accounts', { body: { name: 'x', sipDomain: 'not a domain' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('sipDomain');
    expect((await h.req('POST', '/v2/accounts', { body: { name: 'x', plan: 'gold' } })).status).toBe(422);
    expect((await h.req('GET', '/v2/accounts/acc_doesnotexist')).status).toBe(404);
    // Sub-resources of an unknown (or malformed) account id: the same problem for operators.
    for (const path of ['/v2/accounts/acc_doesnotexist/devices/sip', '/v2/accounts/acc_doesnotexist/api-keys', '/v2/accounts/not-an-id/api-keys']) {
      const r = await h.req('GET', path, { skipOpenApi: path.includes('not-an-id') });
      expect([path, r.status, r.body.type]).toEqual([path, 404, expect.stringContaining('account-not-found')]);
    }
  });

  it('operators list accounts with cursor pagination', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r: Awaited<ReturnType<Harness['req']>> = await h.req('GET', `/v2/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      for (const acc of r.body.data) {
        expect(seen.has(acc.id)).toBe(false);
        seen.add(acc.id);
      }
      cursor = r.body.next_cursor;
      if (!r.body.has_more) break;
    }
    const total = (await h.db.pool.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n;
    expect(seen.size).toBe(total);
  });

  it('an account list cursor that names no account is a 422, not an empty last page', async () => {
    const r = await h.req('GET', '/v2/accounts?cursor=acc_doesnotexist');
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('validation-failed');
    expect(r.body.errors).toEqual([{ field: 'cursor', code: 'invalid-value', message: 'not a cursor returned by this endpoint' }]);
    // A real cursor still works, also on the last page (an empty page after the newest account).
    const newest = (await h.db.pool.query('SELECT id FROM accounts ORDER BY created_at DESC, id DESC LIMIT 1')).rows[0].id;
    const last = await h.req('GET', `/v2/accounts?cursor=${newest}`);
    expect(last.status).toBe(200);
    expect(last.body).toEqual({ data: [], has_more: false, next_cursor: null });
  });
});

describe('API keys', () => {
  it('create, list (no secrets), revoke: the revoked key stops at once on this process', async () => {
    const created = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key, body: { name: 'ci' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci', accountId: a.accountId, revokedAt: null });
    const k2 = created.body.key as string;
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: k2 })).status).toBe(200);

    const list = await h.req('GET', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key });
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect(list.text).not.toContain(k2);
    expect(list.text).not.toContain('argon2');

    expect((await h.req('DELETE', `/v2/accounts/${a.accountId}/api-keys/${created.body.id}`, { token: a.key })).status).toBe(204);
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: k2 })).status).toBe(401);
    const after = await h.req('GET', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key });
    expect(after.body.data.find((k: { id: string }) => k.id === created.body.id).revokedAt).not.toBeNull();
  });

  /**
   * Runs `request` and, right after its verification has read the row of key `watchId` (argon2
   * comes next), revokes key `revokeId` through the API (which also forgets it in this process).
   * Real PostgreSQL throughout: the wrapper around pool.query only chooses the moment.
   */
  async function revokingDuringVerification<T>(watchId: string, revokeId: string, request: () => Promise<T>): Promise<{ result: T; revokeStatus: number | undefined }> {
    const realQuery = h.db.pool.query.bind(h.db.pool) as (...args: unknown[]) => Promise<unknown>;
    let revokeStatus: number | undefined;
    const spy = jest.spyOn(h.db.pool, 'query').mockImplementation((async (...args: unknown[]) => {
      const result = await realQuery(...args);
      const q = args[0] as { name?: string; values?: unknown[] } | string;
      if (revokeStatus === undefined && typeof q === 'object' && q.name === 'api-key-by-id' && q.values?.[0] === watchId) {
        revokeStatus = 0;
        revokeStatus = (await h.req('DELETE', `/v2/accounts/${a.accountId}/api-keys/${revokeId}`, { token: h.adminKey })).status;
      }
      return result;
    }) as never);
    try {
      return { result: await request(), revokeStatus };
    } finally {
      spy.mockRestore();
    }
  }

  it('a key revoked while its first request is being verified stops at once: 401, and it cannot create keys', async () => {
    const created = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key, body: { name: 'raced' } });
    const raced = created.body.key as string;
    const keyId = created.body.id as string;
    // Right after the first request has read the key's row (argon2 comes next), the key is revoked.
    const { result: first, revokeStatus } = await revokingDuringVerification(keyId, keyId, () => h.req('GET', `/v2/accounts/${a.accountId}`, { token: raced }));
    expect(revokeStatus).toBe(204);
    // Nothing of the overlapped verification was cached: the key is refused at once, for reads and for creating keys...
    const minted = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: raced, body: { name: 'escape' } });
    expect(minted.status).toBe(401);
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: raced })).status).toBe(401);
    const names = (await h.req('GET', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key })).body.data.map((k: { name: string }) => k.name);
    expect(names).not.toContain('escape');
    // ...and the revocation also wins over the request whose verification it overlapped.
    expect(first.status).toBe(401);
  });

  it('a revocation of another key during a verification does not refuse a valid key', async () => {
    const victim = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key, body: { name: 'victim' } });
    const fine = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key, body: { name: 'fine' } });
    const { result, revokeStatus } = await revokingDuringVerification(fine.body.id, victim.body.id, () => h.req('GET', `/v2/accounts/${a.accountId}`, { token: fine.body.key }));
    expect(result.status).toBe(200);
    expect(revokeStatus).toBe(204);
    // Nothing of an overlapped verification is cached, not even a valid key's: its next request reads its row again.
    const reads = jest.spyOn(h.db.pool, 'query');
    try {
      expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: fine.body.key })).status).toBe(200);
      expect(reads.mock.calls.some(([q]) => typeof q === 'object' && (q as { name?: string }).name === 'api-key-by-id')).toBe(true);
    } finally {
      reads.mockRestore();
    }
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: fine.body.key })).status).toBe(200);
    expect((await h.req('GET', `/v2/accounts/${a.accountId}`, { token: victim.body.key })).status).toBe(401);
  });

  it('revoking an unknown key, or another account\'s key id through my account, is 404', async () => {
    expect((await h.req('DELETE', `/v2/accounts/${a.accountId}/api-keys/key_nope`, { token: a.key })).status).toBe(404);
    expect((await h.req('DELETE', `/v2/accounts/${a.accountId}/api-keys/${b.keyId}`, { token: a.key })).status).toBe(404);
    expect((await h.req('GET', `/v2/accounts/${b.accountId}`, { token: b.key })).status).toBe(200);
  });

  it('key creation without a body gets a default name', async () => {
    const r = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe('api key');
  });

  it('stores only an argon2id hash of the key', async () => {
    const r = await h.req('POST', `/v2/accounts/${a.accountId}/api-keys`, { token: a.key, body: { name: 'hash check' } });
    const row = (await h.db.pool.query('SELECT secret_hash FROM api_keys WHERE id = $1', [r.body.id])).rows[0];
    expect(row.secret_hash).toMatch(/^\$argon2id\$/);
    expect(row.secret_hash).not.toContain(r.body.key.split('_').pop());
  });
});

describe('the verification cache', () => {
  it('another process keeps accepting a revoked key only until the cache TTL, then refuses it', async () => {
    let now = 1_000_000;
    const other = new ApiKeyVerifier(h.db.pool, { cacheTtlMs: 10_000, cacheMax: 100, now: () => now });
    const { key, record } = await createApiKey(h.db.pool, a.accountId, 'cached');
    expect(await other.verify(key)).toEqual({ kind: 'account', keyId: record.id, accountId: a.accountId });
    await h.db.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [record.id]);
    now += 9_000;
    expect(await other.verify(key)).not.toBeNull();
    now += 2_000;
    expect(await other.verify(key)).toBeNull();
  });

  it('past the TTL a cached key is re-confirmed with one lookup, never with argon2 again; half-way, in the background', async () => {
    let now = 5_000_000;
    const other = new ApiKeyVerifier(h.db.pool, { cacheTtlMs: 10_000, cacheMax: 100, now: () => now });
    const { key } = await createApiKey(h.db.pool, a.accountId, 'refresh');
    expect(await other.verify(key)).not.toBeNull();
    const spy = jest.spyOn(h.db.pool, 'query');
    const names = (): string[] => spy.mock.calls.map((c) => (typeof c[0] === 'object' ? String((c[0] as { name?: string }).name) : 'text'));
    now += 4_000;
    await other.verify(key);
    expect(names()).toEqual([]);
    now += 2_000; // past half the TTL: served at once, confirmed in the background
    await other.verify(key);
    await new Promise((r) => setTimeout(r, 50));
    expect(names()).toEqual(['api-keys-active']);
    now += 20_000; // past the full TTL: this request waits for the confirmation
    expect(await other.verify(key)).not.toBeNull();
    expect(names()).toEqual(['api-keys-active', 'api-keys-active']);
    spy.mockRestore();
  });

  it('concurrent first uses of one key share a single argon2 verification', async () => {
    const other = new ApiKeyVerifier(h.db.pool, { cacheTtlMs: 10_000, cacheMax: 100 });
    const { key } = await createApiKey(h.db.pool, a.accountId, 'burst');
    const spy = jest.spyOn(h.db.pool, 'query');
    const results = await Promise.all(Array.from({ length: 20 }, () => other.verify(key)));
    const lookups = spy.mock.calls.filter((c) => typeof c[0] === 'object' && (c[0] as { name?: string }).name === 'api-key-by-id');
    spy.mockRestore();
    expect(results.every((p) => p?.kind === 'account')).toBe(true);
    expect(lookups).toHaveLength(1);
  });

  it('with a full cache the oldest entry goes first and every key still verifies', async () => {
    const small = new ApiKeyVerifier(h.db.pool, { cacheTtlMs: 10_000, cacheMax: 2 });
    const keys = await Promise.all([1, 2, 3].map((i) => createApiKey(h.db.pool, a.accountId, `k${i}`)));
    for (const k of keys) expect(await small.verify(k.key)).not.toBeNull();
    const cached = (key: string): boolean => small.verifyCached(key) !== undefined;
    expect(keys.map((k) => cached(k.key))).toEqual([false, true, true]); // k1, the oldest, was evicted
    for (const k of keys) expect(await small.verify(k.key)).not.toBeNull();
  });
});

describe('SIP blocks (operator)', () => {
  it('lists blocks and lifts one; unknown or malformed address is 404', async () => {
    for (let i = 0; i < 10; i++) await h.sipBlocks.recordFailure('192.0.2.55', 'x@sip.test.example');
    const list = await h.req('GET', '/v2/sip-blocks');
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([expect.objectContaining({ address: '192.0.2.55', failures: 10 })]);
    expect((await h.req('DELETE', '/v2/sip-blocks/192.0.2.55')).status).toBe(204);
    expect(await h.sipBlocks.isBlocked('192.0.2.55')).toBe(false);
    expect((await h.req('GET', '/v2/sip-blocks')).body.data).toEqual([]);
    expect((await h.req('DELETE', '/v2/sip-blocks/192.0.2.55')).status).toBe(404);
    expect((await h.req('DELETE', '/v2/sip-blocks/not-an-ip')).status).toBe(404);
  });

  it('lifts an IPv6 block', async () => {
    for (let i = 0; i < 10; i++) await h.sipBlocks.recordFailure('2001:db8::7', 'y@sip.test.example');
    expect((await h.req('DELETE', `/v2/sip-blocks/${encodeURIComponent('2001:db8::7')}`)).status).toBe(204);
    expect(await h.sipBlocks.isBlocked('2001:db8::7')).toBe(false);
  });
});
