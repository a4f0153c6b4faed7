import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ha1Md5, ha1Sha256 } from '../../shared/credentials';
import { Phone, SipClient, Stack, startStack } from '../../registrar/test/support';
import { loadApiConfig } from '../config';
import { purgeDeviceTombstones } from '../devices-repo';
import { RunningApi, startApi } from '../index';
import { deviceBody, Harness, startHarness } from './helpers/harness';

interface TombstoneRow {
  sip_domain: string;
  sip_username: string;
  ha1_md5: string;
  ha1_sha256: string;
  device_id: string;
  account_id: string;
  deleted_at: Date;
}

describe('device delete keeps a tombstone', () => {
  let h: Harness;
  let accountId: string;
  let key: string;
  let seq = 900;
  const devices = (): string => `/v2/accounts/${accountId}/devices/sip`;
  const tombstones = async (username: string): Promise<TombstoneRow[]> =>
    (await h.db.pool.query<TombstoneRow>('SELECT * FROM device_tombstones WHERE sip_username = $1', [username])).rows;

  beforeAll(async () => {
    h = await startHarness();
    ({ accountId, key } = await h.createAccount('Tombstones test'));
  });
  afterAll(async () => {
    await h.close();
  });

  it('delete writes the SIP identity and last HA1 values; a second delete of a re-created device replaces them', async () => {
    const body = deviceBody(++seq);
    const first = await h.req('POST', devices(), { token: key, body });
    expect(first.status).toBe(201);
    const username = body.sipUsername as string;
    expect(await tombstones(username)).toEqual([]);
    const before = Date.now();
    expect((await h.req('DELETE', `${devices()}/${first.body.id}`, { token: key })).status).toBe(204);
    const [t] = await tombstones(username);
    expect(t).toMatchObject({
      sip_domain: 'sip.test.example',
      sip_username: username,
      ha1_md5: ha1Md5(username, 'sip.test.example', first.body.credentials.sipPassword),
      ha1_sha256: ha1Sha256(username, 'sip.test.example', first.body.credentials.sipPassword),
      device_id: first.body.id,
      account_id: accountId,
    });
    expect(t!.deleted_at.getTime()).toBeGreaterThanOrEqual(before - 5_000);

    // Re-creating the identity works while the tombstone exists.
    const again = await h.req('POST', devices(), { token: key, body: deviceBody(++seq, { sipUsername: username }) });
    expect(again.status).toBe(201);
    expect((await h.req('DELETE', `${devices()}/${again.body.id}`, { token: key })).status).toBe(204);
    const rows = await tombstones(username);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ device_id: again.body.id, ha1_md5: ha1Md5(username, 'sip.test.example', again.body.credentials.sipPassword) });
  });

  it('a delete of a missing device writes nothing', async () => {
    const count = async (): Promise<number> => Number((await h.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM device_tombstones')).rows[0]!.n);
    const n = await count();
    expect((await h.req('DELETE', `${devices()}/dev_sip_missing`, { token: key })).status).toBe(404);
    expect(await count()).toBe(n);
  });

  it('DEVICE_TOMBSTONE_RETENTION_DAYS defaults to 30 and must be a positive integer', () => {
    const base = { DATABASE_URL: 'postgres://x@localhost/x' };
    expect(loadApiConfig(base).DEVICE_TOMBSTONE_RETENTION_DAYS).toBe(30);
    expect(loadApiConfig({ ...base, DEVICE_TOMBSTONE_RETENTION_DAYS: '7' }).DEVICE_TOMBSTONE_RETENTION_DAYS).toBe(7);
    expect(() => loadApiConfig({ ...base, DEVICE_TOMBSTONE_RETENTION_DAYS: '0' })).toThrow(/DEVICE_TOMBSTONE_RETENTION_DAYS/);
  });

  const insertTombstone = (username: string, ageDays: number): Promise<unknown> =>
    h.db.pool.query(
      `INSERT INTO device_tombstones (sip_domain, sip_username, ha1_md5, ha1_sha256, device_id, account_id, deleted_at)
       VALUES ('sip.test.example', $1, 'x', 'y', $2, $3, now() - make_interval(days => $4))`,
      [username, `dev_sip_${username}`, accountId, ageDays],
    );

  it('purges tombstones past the retention, and only those', async () => {
    await insertTombstone('purge-old', 31);
    await insertTombstone('purge-recent', 29);
    expect(await purgeDeviceTombstones(h.db.pool, 30)).toBe(1);
    expect(await tombstones('purge-old')).toEqual([]);
    expect(await tombstones('purge-recent')).toHaveLength(1);
    expect(await purgeDeviceTombstones(h.db.pool, 30)).toBe(0);
  });

  it('an API process purges at start with its configured retention', async () => {
    await insertTombstone('purge-at-start', 8);
    await insertTombstone('keep-at-start', 6);
    const config = loadApiConfig({ DATABASE_URL: h.db.databaseUrl, REDIS_KEY_PREFIX: h.prefix, DEVICE_TOMBSTONE_RETENTION_DAYS: '7', LOG_LEVEL: 'silent' });
    const api = await startApi({ config, log: pino({ level: 'silent' }), pool: h.db.pool, redis: h.redis, cipher: h.cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    try {
      for (let i = 0; i < 100 && (await tombstones('purge-at-start')).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await tombstones('purge-at-start')).toEqual([]);
      expect(await tombstones('keep-at-start')).toHaveLength(1);
    } finally {
      await api.stop();
    }
  });
});

/** The API and the registrar together: what a deleted, then re-created, phone sees on the wire. */
describe('a deleted then re-created device, through the API and the registrar', () => {
  let stack: Stack;
  let api: RunningApi;
  let client: SipClient;
  const adminKey = randomBytes(24).toString('hex');
  // Long enough that only the API's invalidation on create can make the registrar forget the cached miss.
  const NEGATIVE_TTL_MS = 60_000;

  beforeAll(async () => {
    stack = await startStack({ registrar: { credentialNegativeTtlMs: NEGATIVE_TTL_MS, credentialCacheTtlMs: 60_000 } });
    const config = loadApiConfig({
      DATABASE_URL: stack.db.databaseUrl,
      REDIS_KEY_PREFIX: stack.prefix,
      ADMIN_API_KEY: adminKey,
      CREDENTIAL_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      LOG_LEVEL: 'silent',
    });
    api = await startApi({ config, log: pino({ level: 'silent' }), pool: stack.db.pool, redis: stack.redis, host: '127.0.0.1', port: 0, metricsPort: null });
    client = await SipClient.udp(stack.udp);
  });
  afterAll(async () => {
    client?.close();
    await api?.stop();
    await stack.stop();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => { // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads response fields
    const res = await fetch(`http://127.0.0.1:${api.address.port}/v2/accounts/${stack.accountId}${path}`, {
      method,
      headers: { 'X-Auth-Token': adminKey, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it('old password: 403 after the delete; the re-created device (201) registers with its new password', async () => {
    const created = await call('POST', '/devices/sip', deviceBody(1, { sipUsername: 'ivan' }));
    expect(created.status).toBe(201);
    const oldPassword = created.body.credentials.sipPassword as string;
    expect((await new Phone(client, 'ivan', oldPassword).register()).final?.status).toBe(200);
    expect((await call('GET', `/devices/sip/${created.body.id}`)).body.registrationStatus).toBe('registered');

    expect((await call('DELETE', `/devices/sip/${created.body.id}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 100)); // the invalidation reaches the registrar
    expect((await new Phone(client, 'ivan', oldPassword).register()).final?.status).toBe(403);
    expect(await stack.redis.exists(`${stack.prefix}{sb}fail:src:127.0.0.1`)).toBe(0);

    const again = await call('POST', '/devices/sip', deviceBody(2, { sipUsername: 'ivan' }));
    expect(again.status).toBe(201);
    const newPassword = again.body.credentials.sipPassword as string;
    await new Promise((r) => setTimeout(r, 100)); // the create's invalidation reaches the registrar
    expect((await new Phone(client, 'ivan', newPassword).register()).final?.status).toBe(200);
    expect((await call('GET', `/devices/sip/${again.body.id}`)).body.registrationStatus).toBe('registered');
    // With a live device the tombstone no longer speaks: the old password is just a wrong one.
    expect((await new Phone(client, 'ivan', oldPassword).register()).final?.status).toBe(401);
  });
});
