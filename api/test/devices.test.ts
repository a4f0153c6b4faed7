import { createRedis } from '../../shared/redis';
import { ha1Md5, ha1Sha256 } from '../../shared/credentials';
import type { Invalidation } from '../../shared/registration-store';
import { testRedisUrl } from '../../shared/testing/env';
import { toApiError } from '../problem';
import { deviceBody, Harness, startHarness } from './helpers/harness';
import { registerDevice } from './helpers/live';

let h: Harness;
let accountId: string;
let key: string;
let seq = 0;
const next = (): number => ++seq;
const devices = (): string => `/v2/accounts/${accountId}/devices/sip`;

beforeAll(async () => {
  h = await startHarness();
  ({ accountId, key } = await h.createAccount('Devices test'));
});
afterAll(async () => {
  await h.close();
});

async function create(extra: Record<string, unknown> = {}): Promise<{ id: string; password: string; body: Record<string, unknown> }> {
  const r = await h.req('POST', devices(), { token: key, body: deviceBody(next(), extra) });
  expect(r.status).toBe(201);
  return { id: r.body.id, password: r.body.credentials.sipPassword, body: r.body };
}

describe('the seed examples, as written', () => {
  it('creates a device: 201 with every seed field, pending registration and the password once', async () => {
    const r = await h.req('POST', devices(), {
      token: key,
      body: {
        name: 'Desk Phone - John Doe',
        model: 'Yealink T46S',
        manufacturer: 'Yealink',
        macAddress: '00:15:65:00:00:01',
        sipUsername: 'john.doe',
        displayName: 'John Doe',
        assignedUser: 'user_123456',
      },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${devices()}/${r.body.id}`);
    expect(r.body).toMatchObject({
      accountId,
      type: 'sip',
      name: 'Desk Phone - John Doe',
      model: 'Yealink T46S',
      manufacturer: 'Yealink',
      macAddress: '00:15:65:00:00:01',
      sipUsername: 'john.doe',
      sipDomain: 'sip.test.example',
      displayName: 'John Doe',
      status: 'active',
      registrationStatus: 'pending',
      assignedUser: 'user_123456',
    });
    expect(r.body.id).toMatch(/^dev_sip_[A-Za-z0-9]+$/);
    expect(r.body.credentials.sipPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(Date.parse(r.body.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const got = await h.req('GET', `${devices()}/${r.body.id}`, { token: key });
    expect(got.status).toBe(200);
    expect(got.body.credentials).toBeUndefined();
    expect(got.body).toMatchObject({ id: r.body.id, registrationStatus: 'pending', lastRegistration: null, ipAddress: null });
  });

  it('the create answer carries the SIP password, so it is marked Cache-Control: no-store', async () => {
    const r = await h.req('POST', devices(), { token: key, body: deviceBody(next()) });
    expect(r.status).toBe(201);
    expect(r.body.credentials.sipPassword).toBeDefined();
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('answers the same under /v1 (alias of /v2)', async () => {
    const d = await create();
    const r = await h.req('GET', `/v1/accounts/${accountId}/devices/sip/${d.id}`, { token: key });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(d.id);
  });

  it('PATCH changes displayName and status and bumps updatedAt', async () => {
    const d = await create();
    expect(d.body.status).toBe('active');
    await new Promise((r) => setTimeout(r, 5));
    const r = await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { displayName: 'John Doe - Main Desk', status: 'inactive' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ displayName: 'John Doe - Main Desk', status: 'inactive' });
    expect(Date.parse(r.body.updatedAt)).toBeGreaterThan(Date.parse(d.body.updatedAt as string));
  });

  it('PATCH also takes model, manufacturer, macAddress, assignedUser, name, and null clears optional fields', async () => {
    const d = await create();
    const r = await h.req('PATCH', `${devices()}/${d.id}`, {
      token: key,
      body: { name: 'Lobby', model: 'T54W', manufacturer: 'Yealink', macAddress: '0015.65AA.BBCC', assignedUser: null, displayName: null },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'Lobby', model: 'T54W', macAddress: '00:15:65:aa:bb:cc', assignedUser: null, displayName: null });
  });

  it('GET credentials returns the seed fields, with the password that was issued', async () => {
    const d = await create();
    const r = await h.req('GET', `${devices()}/${d.id}/credentials`, { token: key });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toEqual({
      sipServer: 'sip.test.example',
      sipPort: 5060,
      sipUsername: d.body.sipUsername,
      sipPassword: d.password,
      sipDomain: 'sip.test.example',
      outboundProxy: 'sip.test.example:5060',
      transportProtocol: 'UDP',
      // Where the phone fetches its configuration (docs/provisioning.md): the default URL, the account's HTTP credentials.
      provisioning: { url: 'http://127.0.0.1:8088', username: expect.stringMatching(/^prov-[0-9a-f]{16}$/), password: expect.stringMatching(/^[A-Za-z0-9]{20}$/), tokenUrl: null },
    });
  });

  it('POST reset-password without a body (the seed curl) issues a new password that stops the old one at once', async () => {
    const d = await create();
    const before = Date.now();
    const r = await h.req('POST', `${devices()}/${d.id}/reset-password`, { token: key });
    expect(r.status).toBe(200);
    expect(r.body.message).toBe('Password reset successfully');
    expect(r.body.sipPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(r.body.sipPassword).not.toBe(d.password);
    expect(Date.parse(r.body.expiresAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(r.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 1000);
    const creds = await h.req('GET', `${devices()}/${d.id}/credentials`, { token: key });
    expect(creds.body.sipPassword).toBe(r.body.sipPassword);
    const row = (await h.db.pool.query('SELECT ha1_md5, ha1_sha256, prev_ha1_md5, prev_expires_at FROM devices WHERE id = $1', [d.id])).rows[0];
    expect(row.ha1_md5).toBe(ha1Md5(d.body.sipUsername as string, 'sip.test.example', r.body.sipPassword));
    expect(row.ha1_sha256).toBe(ha1Sha256(d.body.sipUsername as string, 'sip.test.example', r.body.sipPassword));
    expect(row.prev_ha1_md5).toBeNull();
    expect(row.prev_expires_at).toBeNull();
  });

  it('DELETE answers 204, then the device is gone', async () => {
    const d = await create();
    const r = await h.req('DELETE', `${devices()}/${d.id}`, { token: key });
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await h.req('GET', `${devices()}/${d.id}`, { token: key })).status).toBe(404);
    expect((await h.req('DELETE', `${devices()}/${d.id}`, { token: key })).status).toBe(404);
    expect((await h.req('GET', `${devices()}/${d.id}/credentials`, { token: key })).status).toBe(404);
  });
});

describe('password reset with a grace period', () => {
  it('keeps the previous HA1 values until expiresAt and keeps live bindings', async () => {
    const d = await create();
    await registerDevice(h.store, d.id);
    const before = Date.now();
    const r = await h.req('POST', `${devices()}/${d.id}/reset-password`, { token: key, body: { gracePeriodSeconds: 3600 } });
    expect(r.status).toBe(200);
    const expiresAt = Date.parse(r.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    const row = (await h.db.pool.query('SELECT prev_ha1_md5, prev_ha1_sha256, prev_expires_at FROM devices WHERE id = $1', [d.id])).rows[0];
    const user = d.body.sipUsername as string;
    expect(row.prev_ha1_md5).toBe(ha1Md5(user, 'sip.test.example', d.password));
    expect(row.prev_ha1_sha256).toBe(ha1Sha256(user, 'sip.test.example', d.password));
    expect((row.prev_expires_at as Date).toISOString()).toBe(r.body.expiresAt);
    expect((await h.store.listBindings(d.id)).length).toBe(1);
  });

  it('rejects a negative, fractional or too long grace period with 422 naming the field', async () => {
    const d = await create();
    for (const g of [-1, 1.5, 8 * 24 * 3600, '60']) {
      const r = await h.req('POST', `${devices()}/${d.id}/reset-password`, { token: key, body: { gracePeriodSeconds: g } });
      expect(r.status).toBe(422);
      expect(r.body.errors[0].field).toBe('gracePeriodSeconds');
    }
  });
});

describe('live registration fields come from Redis', () => {
  it('shows registered, lastRegistration and ipAddress once the device registers', async () => {
    const d = await create();
    await registerDevice(h.store, d.id, { ip: '203.0.113.7' });
    const r = await h.req('GET', `${devices()}/${d.id}`, { token: key });
    expect(r.body.registrationStatus).toBe('registered');
    expect(r.body.ipAddress).toBe('203.0.113.7');
    expect(Date.now() - Date.parse(r.body.lastRegistration)).toBeLessThan(60_000);
    const list = await h.req('GET', `${devices()}?sipUsername=${d.body.sipUsername}`, { token: key });
    expect(list.body.data[0]).toMatchObject({ id: d.id, registrationStatus: 'registered', ipAddress: '203.0.113.7' });
  });

  it('lists and kicks live bindings through the registrations endpoints', async () => {
    const d = await create();
    await registerDevice(h.store, d.id, { ip: '198.51.100.9', port: 5062 });
    const list = await h.req('GET', `${devices()}/${d.id}/registrations`, { token: key });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ contact: 'sip:phone@198.51.100.9:5062', sourceAddress: '198.51.100.9', sourcePort: 5062, transport: 'udp' });
    const kick = await h.req('DELETE', `${devices()}/${d.id}/registrations`, { token: key });
    expect(kick.status).toBe(204);
    expect((await h.req('GET', `${devices()}/${d.id}/registrations`, { token: key })).body.data).toEqual([]);
    expect((await h.req('GET', `${devices()}/${d.id}`, { token: key })).body.registrationStatus).toBe('unregistered');
  });

  it('registrations of an unknown device are 404', async () => {
    expect((await h.req('GET', `${devices()}/dev_sip_nope/registrations`, { token: key })).status).toBe(404);
    expect((await h.req('DELETE', `${devices()}/dev_sip_nope/registrations`, { token: key })).status).toBe(404);
  });
});

describe('credential changes reach the registrars', () => {
  let sub: ReturnType<typeof createRedis>;
  const seen: Invalidation[] = [];
  beforeAll(async () => {
    sub = createRedis(testRedisUrl());
    await h.store.subscribeInvalidations(sub, (inv) => seen.push(inv));
  });
  afterAll(async () => {
    await sub.quit();
  });
  const waitFor = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pred()).toBe(true);
  };

  it('publishes an invalidation on create, status change, reset and delete, and none on a rename', async () => {
    const d = await create();
    const inv = { deviceId: d.id, sipUsername: d.body.sipUsername, sipDomain: 'sip.test.example' };
    const mine = (): number => seen.filter((s) => s.deviceId === d.id).length;
    await waitFor(() => mine() === 1);
    // A rename publishes nothing: time for a message to arrive, and none did.
    await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { name: 'renamed' } });
    await new Promise((r) => setTimeout(r, 200));
    expect(mine()).toBe(1);
    await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { status: 'inactive' } });
    await waitFor(() => seen.filter((s) => s.deviceId === d.id).length === 2);
    await h.req('POST', `${devices()}/${d.id}/reset-password`, { token: key });
    await waitFor(() => seen.filter((s) => s.deviceId === d.id).length === 3);
    await h.req('DELETE', `${devices()}/${d.id}`, { token: key });
    await waitFor(() => mine() === 4);
    await new Promise((r) => setTimeout(r, 200)); // and no fifth
    expect(seen.filter((s) => s.deviceId === d.id)).toEqual([inv, inv, inv, inv]);
  });

  it('deactivation removes live bindings; reactivation keeps the device unregistered until it registers', async () => {
    const d = await create();
    await registerDevice(h.store, d.id);
    const r = await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { status: 'inactive' } });
    expect(r.body).toMatchObject({ status: 'inactive', registrationStatus: 'unregistered' });
    expect(await h.store.listBindings(d.id)).toEqual([]);
    await waitFor(() => seen.filter((s) => s.deviceId === d.id).length === 2); // create, then deactivation
    const back = await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { status: 'active' } });
    expect(back.body).toMatchObject({ status: 'active', registrationStatus: 'unregistered' });
    expect(await h.store.listBindings(d.id)).toEqual([]);
    await waitFor(() => seen.filter((s) => s.deviceId === d.id).length === 3); // reactivation drops cached "inactive" at once
  });

  it('a reset without grace removes live bindings', async () => {
    const d = await create();
    await registerDevice(h.store, d.id);
    await h.req('POST', `${devices()}/${d.id}/reset-password`, { token: key, body: { gracePeriodSeconds: 0 } });
    expect(await h.store.listBindings(d.id)).toEqual([]);
  });

  it('delete forgets the device\'s live state', async () => {
    const d = await create();
    await registerDevice(h.store, d.id);
    await h.req('DELETE', `${devices()}/${d.id}`, { token: key });
    expect(await h.redis.exists(h.store.keys.status(d.id), h.store.keys.bindings(d.id))).toBe(0);
  });
});

describe('errors are RFC 9457 problem+json with the right status', () => {
  const expectProblem = (r: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, code: string): void => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code, type: `urn:sipreg:problem:${code}` });
    expect(typeof r.body.title).toBe('string');
  };

  it('400 for malformed JSON', async () => {
    const r = await h.req('POST', devices(), { token: key, raw: '{"name": "x",', contentType: 'application/json' });
    expectProblem(r, 400, 'malformed-json');
  });

  it('415 for a body that is not JSON (curl -d without a Content-Type)', async () => {
    const r = await h.req('POST', devices(), { token: key, raw: 'name=x&sipUsername=y', contentType: 'application/x-www-form-urlencoded' });
    expectProblem(r, 415, 'unsupported-media-type');
    const p = await h.req('PATCH', `${devices()}/dev_sip_x`, { token: key, raw: '<name/>', contentType: 'text/xml' });
    expectProblem(p, 415, 'unsupported-media-type');
  });

  it('413 for a body over the limit', async () => {
    const r = await h.req('POST', devices(), { token: key, body: { ...deviceBody(next()), name: 'x'.repeat(70_000) } });
    expectProblem(r, 413, 'payload-too-large');
  });

  it('422 for unknown fields, naming each', async () => {
    const r = await h.req('POST', devices(), { token: key, body: { ...deviceBody(next()), password: 'mine', colour: 'red' } });
    expectProblem(r, 422, 'validation-failed');
    expect(r.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'password', code: 'unknown-field', message: 'unknown field' },
        { field: 'colour', code: 'unknown-field', message: 'unknown field' },
      ]),
    );
    const p = await h.req('PATCH', `${devices()}/dev_sip_x`, { token: key, body: { sipUsername: 'changed' } });
    expectProblem(p, 422, 'validation-failed');
    expect(p.body.errors[0].field).toBe('sipUsername');
  });

  it('422 for invalid values and missing required fields, naming the field', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: 'x' }, 'sipUsername', 'required'],
      [{ sipUsername: 'abc' }, 'name', 'required'],
      [{ name: '', sipUsername: 'abc' }, 'name', 'too-small'],
      [{ name: 'x', sipUsername: 'has space' }, 'sipUsername', 'invalid-format'],
      [{ name: 'x', sipUsername: 'a@b' }, 'sipUsername', 'invalid-format'],
      [{ name: 'x', sipUsername: 'abc', macAddress: '00:15:65:00:00' }, 'macAddress', 'invalid-value'],
      [{ name: 42, sipUsername: 'abc' }, 'name', 'invalid-type'],
    ];
    for (const [body, field, code] of cases) {
      const r = await h.req('POST', devices(), { token: key, body });
      expectProblem(r, 422, 'validation-failed');
      expect(r.body.errors).toContainEqual(expect.objectContaining({ field, code }));
    }
    const bad = await h.req('PATCH', `${devices()}/dev_sip_x`, { token: key, body: { status: 'suspended' } });
    expectProblem(bad, 422, 'validation-failed');
    expect(bad.body.errors[0].field).toBe('status');
  });

  it('422 (not 500) for a NUL character or a lone UTF-16 surrogate in any text field or list filter', async () => {
    const d = await create();
    const bad = ['a\u0000b', '\u0000', 'x\ud800', '\udc00y', '\ude00\ud83d'];
    for (const field of ['name', 'model', 'manufacturer', 'displayName', 'assignedUser']) {
      for (const value of bad) {
        const c = await h.req('POST', devices(), { token: key, body: deviceBody(next(), { [field]: value }) });
        expectProblem(c, 422, 'validation-failed');
        expect([field, c.body.errors]).toEqual([field, [expect.objectContaining({ field, code: 'invalid-value' })]]);
        const p = await h.req('PATCH', `${devices()}/${d.id}`, { token: key, body: { status: 'inactive', [field]: value } });
        expectProblem(p, 422, 'validation-failed');
        expect([field, p.body.errors]).toEqual([field, [expect.objectContaining({ field, code: 'invalid-value' })]]);
      }
    }
    // As the reviewer sent it: a raw JSON escape of a lone surrogate, which would otherwise be stored as U+FFFD.
    const raw = await h.req('POST', devices(), { token: key, raw: `{"name":"\\ud800x","sipUsername":"raw${next()}"}`, contentType: 'application/json' });
    expectProblem(raw, 422, 'validation-failed');
    expect(raw.body.errors[0].field).toBe('name');
    const untouched = await h.req('GET', `${devices()}/${d.id}`, { token: key });
    expect(untouched.body).toMatchObject({ name: d.body.name, status: 'active' });
    for (const q of ['name=%00', 'sipUsername=%00', 'assignedUser=a%00', 'name=a%00b']) {
      const r = await h.req('GET', `${devices()}?${q}`, { token: key });
      expectProblem(r, 422, 'validation-failed');
      expect([q, r.body.errors[0].field]).toEqual([q, q.split('=')[0]]);
    }
    // API key and account names (an operator creates and renames accounts).
    for (const name of ['k\u0000', 'k\ud800']) {
      expectProblem(await h.req('POST', `/v2/accounts/${accountId}/api-keys`, { token: key, body: { name } }), 422, 'validation-failed');
      expectProblem(await h.req('POST', '/v2/accounts', { body: { name } }), 422, 'validation-failed');
      expectProblem(await h.req('POST', '/v2/accounts', { body: { name: 'ok', apiKeyName: name } }), 422, 'validation-failed');
      expectProblem(await h.req('PATCH', `/v2/accounts/${accountId}`, { body: { name } }), 422, 'validation-failed');
    }
    // Characters outside the BMP are fine: a surrogate pair is one code point.
    const emoji = await h.req('POST', devices(), { token: key, body: deviceBody(next(), { name: 'Lobby \ud83d\udcde' }) });
    expect(emoji.status).toBe(201);
    expect(emoji.body.name).toBe('Lobby \u{1F4DE}');
    expect((await h.req('GET', `${devices()}?name=${encodeURIComponent('\u{1F4DE}')}`, { token: key })).body.data.map((x: { id: string }) => x.id)).toEqual([emoji.body.id]);
  });

  it('a PostgreSQL "character not in repertoire" error (22021) that gets past validation is a 4xx, not a 500', async () => {
    const err: unknown = await h.db.pool.query('SELECT $1::text AS v', ['a\u0000b']).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22021');
    const mapped = toApiError(err, 1024);
    expect(mapped.status).toBe(422);
    expect(mapped.code).toBe('validation-failed');
  });

  it('422 for a JSON body that is not an object', async () => {
    const r = await h.req('POST', devices(), { token: key, raw: '[1,2]', contentType: 'application/json' });
    expectProblem(r, 422, 'validation-failed');
  });

  it('404 for an unknown device, malformed id, or unknown route', async () => {
    expectProblem(await h.req('GET', `${devices()}/dev_sip_doesnotexist`, { token: key }), 404, 'device-not-found');
    expectProblem(await h.req('GET', `${devices()}/not-an-id`, { token: key }), 404, 'device-not-found');
    expectProblem(await h.req('PATCH', `${devices()}/dev_sip_doesnotexist`, { token: key, body: { name: 'x' } }), 404, 'device-not-found');
    expectProblem(await h.req('POST', `${devices()}/dev_sip_doesnotexist/reset-password`, { token: key }), 404, 'device-not-found');
    expectProblem(await h.req('GET', '/v2/nothing-here', { token: key, skipOpenApi: true }), 404, 'route-not-found');
    expectProblem(await h.req('POST', '/v2/accounts/acc_doesnotexist/devices/sip', { body: deviceBody(next()) }), 404, 'account-not-found');
  });

  it('409 for a duplicate sipUsername in the SIP domain, naming the field', async () => {
    const d = await create();
    const r = await h.req('POST', devices(), { token: key, body: deviceBody(next(), { sipUsername: d.body.sipUsername }) });
    expectProblem(r, 409, 'sip-username-taken');
    expect(r.body.field).toBe('sipUsername');
  });

  it('409 for a duplicate macAddress however it is spelled, on create and on update', async () => {
    await create({ macAddress: '00:15:65:12:34:56' });
    const r = await h.req('POST', devices(), { token: key, body: deviceBody(next(), { macAddress: '00-15-65-12-34-56' }) });
    expectProblem(r, 409, 'mac-address-taken');
    expect(r.body.field).toBe('macAddress');
    const other = await create();
    const p = await h.req('PATCH', `${devices()}/${other.id}`, { token: key, body: { macAddress: '001565123456' } });
    expectProblem(p, 409, 'mac-address-taken');
  });

  it('macAddress is unique platform-wide, across accounts', async () => {
    const other = await h.createAccount('Other MAC owner');
    await create({ macAddress: '00:15:65:fe:fe:fe' });
    const r = await h.req('POST', `/v2/accounts/${other.accountId}/devices/sip`, { token: other.key, body: deviceBody(next(), { macAddress: '00:15:65:FE:FE:FE' }) });
    expectProblem(r, 409, 'mac-address-taken');
  });

  it('concurrent creates of one sipUsername: exactly one 201, the rest 409', async () => {
    const body = deviceBody(next());
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => h.req('POST', devices(), { token: key, body: { ...body, macAddress: `00:15:66:00:00:${i.toString(16).padStart(2, '0')}` } })),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(11);
    const rows = await h.db.pool.query('SELECT count(*)::int AS n FROM devices WHERE sip_username = $1', [body.sipUsername]);
    expect(rows.rows[0].n).toBe(1);
  });

  it('concurrent creates of one macAddress: exactly one 201', async () => {
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => h.req('POST', devices(), { token: key, body: deviceBody(next(), { macAddress: '00:15:67:00:00:01' }) })),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.code === 'mac-address-taken')).toBe(true);
  });

  it('a sipUsername freed by a delete can be used again', async () => {
    const d = await create();
    await h.req('DELETE', `${devices()}/${d.id}`, { token: key });
    const again = await h.req('POST', devices(), { token: key, body: deviceBody(next(), { sipUsername: d.body.sipUsername }) });
    expect(again.status).toBe(201);
  });
});
