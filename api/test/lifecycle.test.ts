import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { CredentialCipher } from '../../shared/credentials';
import { createPool } from '../../shared/db';
import { createRedis } from '../../shared/redis';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { testKeyPrefix } from '../../shared/testing/redis';
import { createApiKey } from '../api-keys';
import { bootstrap, bootstrapMessage } from '../bootstrap';
import { loadApiConfig } from '../config';
import { startApi } from '../index';
import { deviceBody, Harness, startHarness } from './helpers/harness';

const silent = pino({ level: 'silent' });
const cipher = new CredentialCipher(new Map([['t1', randomBytes(32)]]), 't1');

describe('health', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('/livez and /readyz answer 200 with both services up', async () => {
    expect((await h.req('GET', '/livez', { token: null })).body).toEqual({ status: 'ok' });
    expect((await h.req('GET', '/readyz', { token: null })).body).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('survives garbage: bad percent-encoding, a body cut short, a huge header value', async () => {
    const bad = await fetch(`${h.baseUrl}/v2/accounts/%E0%A4%A/devices/sip`, { headers: { 'X-Auth-Token': h.adminKey } });
    expect(bad.status).toBe(400);
    await new Promise<void>((resolve) => {
      const s = connect(h.api.address.port, '127.0.0.1', () => {
        s.write(`POST /v2/accounts/acc_x/devices/sip HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${h.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":`);
        setTimeout(() => { s.destroy(); resolve(); }, 100);
      });
      s.on('error', () => resolve());
    });
    const long = await fetch(`${h.baseUrl}/v2/accounts/acc_x/devices/sip`, { headers: { 'X-Auth-Token': 'x'.repeat(4000) } });
    expect(long.status).toBe(401);
    expect((await h.req('GET', '/livez', { token: null })).status).toBe(200);
  });
});

describe('when a backing service is down', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db.close();
  });

  it('Redis down: /readyz is 503 naming redis, a device read is 503, nothing crashes', async () => {
    const deadRedis = createRedis('redis://127.0.0.1:1/0', { connectTimeout: 200, retryStrategy: () => null });
    const adminKey = randomBytes(18).toString('base64url');
    const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), ADMIN_API_KEY: adminKey });
    const api = await startApi({ config, log: silent, pool: db.pool, redis: deadRedis, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    try {
      const base = `http://127.0.0.1:${api.address.port}`;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'failed' } });
      const { rows } = await db.pool.query<{ id: string }>("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_down', 'down', 'd.example') RETURNING id");
      const created = await fetch(`${base}/v2/accounts/${rows[0]!.id}/devices/sip`, {
        method: 'POST',
        headers: { 'X-Auth-Token': adminKey, 'Content-Type': 'application/json' },
        body: JSON.stringify(deviceBody(1)),
      });
      expect(created.status).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      const got = await fetch(`${base}/v2/accounts/acc_down/devices/sip/${id}`, { headers: { 'X-Auth-Token': adminKey } });
      expect(got.status).toBe(503);
      expect(((await got.json()) as { code: string }).code).toBe('service-unavailable');
      // A write still succeeds: PostgreSQL is the source of truth; the invalidation is logged as lost.
      const patched = await fetch(`${base}/v2/accounts/acc_down/devices/sip/${id}/reset-password`, { method: 'POST', headers: { 'X-Auth-Token': adminKey } });
      expect(patched.status).toBe(200);
    } finally {
      await api.stop();
      deadRedis.disconnect();
    }
  });

  it('Redis down: a PATCH that PostgreSQL committed answers 200 (registration pending) and logs the Redis failure, as POST and reset do', async () => {
    const deadRedis = createRedis('redis://127.0.0.1:1/0', { connectTimeout: 200, retryStrategy: () => null });
    const adminKey = randomBytes(18).toString('base64url');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString('utf8')); cb(); } }));
    const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), ADMIN_API_KEY: adminKey });
    const api = await startApi({ config, log, pool: db.pool, redis: deadRedis, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    try {
      const base = `http://127.0.0.1:${api.address.port}/v2/accounts/acc_downpatch/devices/sip`;
      const headers = { 'X-Auth-Token': adminKey, 'Content-Type': 'application/json' };
      await db.pool.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_downpatch', 'down', 'dp.example')");
      const created = await fetch(base, { method: 'POST', headers, body: JSON.stringify(deviceBody(2)) });
      expect(created.status).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      lines.length = 0;
      const patched = await fetch(`${base}/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ status: 'inactive', name: 'renamed' }) });
      expect(patched.status).toBe(200);
      expect(await patched.json()).toMatchObject({ id, name: 'renamed', status: 'inactive', registrationStatus: 'pending', lastRegistration: null, ipAddress: null });
      const { rows } = await db.pool.query('SELECT name, status FROM devices WHERE id = $1', [id]);
      expect(rows).toEqual([{ name: 'renamed', status: 'inactive' }]);
      // Both Redis steps failed and were logged: the invalidation (and binding removal), and the live status read.
      const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; deviceId?: string }).filter((l) => l.level >= 40 && l.deviceId === id);
      expect(errors.map((l) => l.msg)).toEqual([expect.stringContaining('could not publish'), expect.stringContaining('live registration state')]);
      // A rename alone (nothing to publish) is answered the same way.
      const renamed = await fetch(`${base}/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ name: 'again' }) });
      expect(renamed.status).toBe(200);
      expect(await renamed.json()).toMatchObject({ name: 'again', registrationStatus: 'pending' });
    } finally {
      await api.stop();
      deadRedis.disconnect();
    }
  });

  it('PostgreSQL down: /readyz is 503 naming postgres, authenticated routes are 503', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none', { max: 2 });
    const redis = createRedis('redis://127.0.0.1:6379/0');
    const config = loadApiConfig({ REDIS_KEY_PREFIX: testKeyPrefix(), ADMIN_API_KEY: randomBytes(18).toString('base64url') });
    const api = await startApi({ config, log: silent, pool: deadPool, redis, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    try {
      const base = `http://127.0.0.1:${api.address.port}`;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', checks: { postgres: 'failed', redis: 'ok' } });
      const r = await fetch(`${base}/v2/accounts/acc_x/devices/sip/dev_sip_x`, { headers: { 'X-Auth-Token': config.ADMIN_API_KEY! } });
      expect(r.status).toBe(503);
      const k = await fetch(`${base}/v2/accounts/acc_x`, { headers: { 'X-Auth-Token': 'sk_key_AAAAAAAAAAAAAAAA_' + 'a'.repeat(32) } });
      expect(k.status).toBe(503);
    } finally {
      await api.stop();
      await deadPool.end();
      await redis.quit();
    }
  });
});

describe('startApi / stop', () => {
  it('listens on port 0, reports the bound address, and stop() is safe twice', async () => {
    const db = await createTestDb();
    const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), LOG_LEVEL: 'silent' });
    const api = await startApi({ config, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    expect(api.address.port).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${api.address.port}/livez`)).status).toBe(200);
    await Promise.all([api.stop(), api.stop()]);
    await api.stop();
    await expect(fetch(`http://127.0.0.1:${api.address.port}/livez`)).rejects.toThrow();
    await db.close();
  });
});

describe('bootstrap', () => {
  it('creates one account and one operator key on an empty database, even when run concurrently, and nothing afterwards', async () => {
    const db = await createTestDb();
    try {
      const pool2 = createPool(db.databaseUrl, { max: 2, schema: db.schema });
      const results = await Promise.all([bootstrap(db.pool, { sipDomain: 'boot.example' }), bootstrap(pool2, { sipDomain: 'boot.example' })]);
      await pool2.end();
      const made = results.filter((r) => r !== null);
      expect(made).toHaveLength(1);
      expect((await db.pool.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n).toBe(1);
      const keyRows = (await db.pool.query('SELECT account_id FROM api_keys')).rows;
      expect(keyRows).toEqual([{ account_id: null }]);
      expect(await bootstrap(db.pool, { sipDomain: 'boot.example' })).toBeNull();

      const boot = made[0]!;
      const text = bootstrapMessage(boot, 'http://127.0.0.1:3000');
      expect(text).toContain(boot.adminKey);
      expect(text).toContain(boot.account.id);
      // The printed key is a working operator key.
      const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), LOG_LEVEL: 'silent' });
      const api = await startApi({ config, pool: db.pool, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
      try {
        const r = await fetch(`http://127.0.0.1:${api.address.port}/v2/accounts`, { headers: { 'X-Auth-Token': boot.adminKey } });
        expect(r.status).toBe(200);
      } finally {
        await api.stop();
      }
    } finally {
      await db.close();
    }
  });

  it('a key of a deleted account stops working', async () => {
    const db = await createTestDb();
    try {
      await db.pool.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_gone', 'g', 'g.example')");
      const { key } = await createApiKey(db.pool, 'acc_gone', 'k');
      await db.pool.query("DELETE FROM accounts WHERE id = 'acc_gone'");
      const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), LOG_LEVEL: 'silent' });
      const api = await startApi({ config, pool: db.pool, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
      try {
        expect((await fetch(`http://127.0.0.1:${api.address.port}/v2/accounts/acc_gone`, { headers: { 'X-Auth-Token': key } })).status).toBe(401);
      } finally {
        await api.stop();
      }
    } finally {
      await db.close();
    }
  });
});
