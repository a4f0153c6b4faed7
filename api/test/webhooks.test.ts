import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { testRedisUrl } from '../../shared/testing/env';
import { clearPrefix, testKeyPrefix, testRedis } from '../../shared/testing/redis';
import { until } from '../../shared/testing/wait';
import { verifyWebhook } from '../webhooks/signature';
import { deviceBody, Harness, startHarness } from './helpers/harness';

/** What a receiver answers its n-th request (1-based): a status, or `hang` (never answers). */
type Script = (n: number) => number | 'hang';

/** A real HTTP receiver on loopback, recording every request as it arrived. */
class Receiver {
  readonly requests: { at: number; headers: IncomingMessage['headers']; body: string }[] = [];
  private readonly hanging: ServerResponse[] = [];
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(script: Script): Promise<Receiver> {
    const self: { r?: Receiver } = {};
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const r = self.r!;
        r.requests.push({ at: Date.now(), headers: req.headers, body });
        const answer = script(r.requests.length);
        if (answer === 'hang') r.hanging.push(res);
        else res.writeHead(answer).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.r = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sipreg`);
    return self.r;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const FAST_RETRIES = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_MS: '300',
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_TIMEOUT_MS: '2000',
};

let h: Harness;
let accountId: string;
const receivers: Receiver[] = [];
const receiver = async (script: Script): Promise<Receiver> => {
  const r = await Receiver.start(script);
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  h = await startHarness(FAST_RETRIES);
  accountId = (await h.createAccount('Hooks')).accountId;
});
afterAll(async () => {
  await h.close();
  for (const r of receivers) await r.close();
});

/** A device of the account and a webhook to `url` for `events`; returns the webhook (with its secret) and the device id. */
async function setUp(url: string, events: string[], n: number): Promise<{ hook: any; deviceId: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- webhook JSON
  const hook = await h.req('POST', `/v2/accounts/${accountId}/webhooks`, { body: { url, events, description: 'ops' } });
  expect(hook.status).toBe(201);
  expect(hook.body.secret).toMatch(/^whsec_/);
  const device = await h.req('POST', `/v2/accounts/${accountId}/devices/sip`, { body: deviceBody(n) });
  return { hook: hook.body, deviceId: device.body.id };
}

describe('webhook deliveries', () => {
  it('signs each delivery; after three 500s and a 200 the event arrives exactly once more, each retry waiting longer', async () => {
    const r = await receiver((n) => (n <= 3 ? 500 : 200));
    const { hook, deviceId } = await setUp(r.url, ['device.updated'], 1);
    expect((await h.req('PATCH', `/v2/accounts/${accountId}/devices/sip/${deviceId}`, { body: { name: 'Reception' } })).status).toBe(200);
    await until(async () => r.requests.length >= 4, 15_000, 'four attempts');
    const deliveries = `/v2/accounts/${accountId}/webhooks/${hook.id}/deliveries`;
    await until(async () => (await h.req('GET', deliveries)).body.data[0]?.state === 'delivered', 5000, 'delivered');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // long enough for a stray repeat at this poll rate
    expect(r.requests).toHaveLength(4);

    const nowS = Math.floor(Date.now() / 1000);
    const body = JSON.parse(r.requests[0]!.body);
    expect(body).toEqual({
      id: expect.stringMatching(/^evt_/), type: 'device.updated', at: expect.any(String), accountId, deviceId,
      data: { fields: ['name'], actor: 'operator' }, // receivers are the account's: no operator key or address
    });
    for (const req of r.requests) {
      expect(req.body).toBe(r.requests[0]!.body);
      expect(req.headers['webhook-id']).toBe(body.id);
      expect(req.headers['content-type']).toBe('application/json');
      const headers = { id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']) };
      expect(verifyWebhook(hook.secret, headers, req.body, nowS)).toBe(true);
      expect(verifyWebhook(hook.secret, headers, req.body.replace('device.updated', 'device.deleted'), nowS)).toBe(false);
    }
    // Backoff: each wait at least half of a ceiling that doubles (300, 600, 1200 ms), so the third is longer than the first.
    const gaps = r.requests.slice(1).map((req, i) => req.at - r.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[2]).toBeGreaterThanOrEqual(600);
    expect(gaps[2]).toBeGreaterThan(gaps[0]!);

    const list = (await h.req('GET', deliveries)).body.data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ eventId: body.id, eventType: 'device.updated', state: 'delivered', attempts: 4, lastStatus: 200, lastError: null, nextAttemptAt: null });
    // The webhook is healthy again.
    expect((await h.req('GET', `/v2/accounts/${accountId}/webhooks/${hook.id}`)).body).toMatchObject({ enabled: true, failingSince: null });
  });

  it('signs with both secrets while a rotation is fresh, and delivers only the subscribed types', async () => {
    const r = await receiver(() => 204);
    const { hook, deviceId } = await setUp(r.url, ['device.password_reset'], 2);
    const rotated = await h.req('POST', `/v2/accounts/${accountId}/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    expect((await h.req('PATCH', `/v2/accounts/${accountId}/devices/sip/${deviceId}`, { body: { name: 'not subscribed' } })).status).toBe(200);
    expect((await h.req('POST', `/v2/accounts/${accountId}/devices/sip/${deviceId}/reset-password`, { body: {} })).status).toBe(200);
    await until(async () => r.requests.length >= 1, 10_000, 'the delivery');
    const req = r.requests[0]!;
    expect(JSON.parse(req.body).type).toBe('device.password_reset');
    const headers = { id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']) };
    expect(headers.signature.split(' ')).toHaveLength(2);
    const nowS = Math.floor(Date.now() / 1000);
    expect(verifyWebhook(rotated.body.secret, headers, req.body, nowS)).toBe(true);
    expect(verifyWebhook(hook.secret, headers, req.body, nowS)).toBe(true);
    // Nothing else reaches it (the rename was not subscribed).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(r.requests).toHaveLength(1);
    // Once the grace period is over, only the new secret signs.
    await h.db.pool.query("UPDATE webhooks SET prev_secret_expires_at = now() - interval '1 second' WHERE id = $1", [hook.id]);
    expect((await h.req('POST', `/v2/accounts/${accountId}/devices/sip/${deviceId}/reset-password`, { body: {} })).status).toBe(200);
    await until(async () => r.requests.length >= 2, 10_000, 'the second delivery');
    const later = r.requests[1]!;
    expect(String(later.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyWebhook(rotated.body.secret, { id: String(later.headers['webhook-id']), timestamp: String(later.headers['webhook-timestamp']), signature: String(later.headers['webhook-signature']) }, later.body, Math.floor(Date.now() / 1000))).toBe(true);
  });

  it('marks a delivery failed once WEBHOOK_RETRY_FOR_S has passed, and records a secret that cannot be decrypted as a failed attempt', async () => {
    const r = await receiver(() => 500);
    const { hook, deviceId } = await setUp(r.url, ['device.updated'], 5);
    expect((await h.req('PATCH', `/v2/accounts/${accountId}/devices/sip/${deviceId}`, { body: { name: 'old news' } })).status).toBe(200);
    await until(async () => r.requests.length >= 1, 10_000, 'a first attempt');
    const metrics = await (await fetch(`http://127.0.0.1:${h.api.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/api_webhook_pending_deliveries [1-9]/); // it waits for its retry
    expect(metrics).toMatch(/api_webhook_attempts_total\{result="retry"\} [1-9]/);
    await h.db.pool.query("UPDATE webhook_deliveries SET created_at = now() - interval '2 days' WHERE webhook_id = $1", [hook.id]);
    const deliveries = `/v2/accounts/${accountId}/webhooks/${hook.id}/deliveries`;
    await until(async () => (await h.req('GET', deliveries)).body.data[0]?.state === 'failed', 10_000, 'failed for good');
    expect((await h.req('GET', deliveries)).body.data[0]).toMatchObject({ state: 'failed', lastStatus: 500, nextAttemptAt: null });
    // A secret of another webhook (its encryption is bound to its own id): not decryptable here.
    const other = await setUp(r.url, ['registered'], 6);
    await h.db.pool.query('UPDATE webhooks SET secret_enc = (SELECT secret_enc FROM webhooks WHERE id = $2) WHERE id = $1', [hook.id, other.hook.id]);
    const before = r.requests.length;
    expect((await h.req('PATCH', `/v2/accounts/${accountId}/devices/sip/${deviceId}`, { body: { name: 'undecryptable' } })).status).toBe(200);
    await until(async () => (await h.req('GET', `${deliveries}?state=pending`)).body.data[0]?.lastError?.includes('cannot be decrypted'), 10_000, 'the decryption failure recorded');
    expect(r.requests.length).toBe(before); // nothing was sent unsigned
  });

  it('disables a webhook failing for WEBHOOK_DISABLE_AFTER_DAYS, says so in the feed, and enabling it again forgets the streak', async () => {
    const r = await receiver(() => 503);
    const { hook, deviceId } = await setUp(r.url, ['*'], 3);
    await until(async () => r.requests.length >= 1, 10_000, 'a first failure'); // device.created
    await h.db.pool.query("UPDATE webhooks SET failing_since = now() - interval '4 days' WHERE id = $1", [hook.id]);
    expect((await h.req('PATCH', `/v2/accounts/${accountId}/devices/sip/${deviceId}`, { body: { name: 'x' } })).status).toBe(200);
    const path = `/v2/accounts/${accountId}/webhooks/${hook.id}`;
    await until(async () => (await h.req('GET', path)).body.enabled === false, 10_000, 'disabled');
    const disabled = (await h.req('GET', path)).body;
    expect(disabled.disabledReason).toMatch(/every delivery attempt failed since/);
    const feed = (await h.req('GET', `/v2/accounts/${accountId}/events?type=webhook.disabled`)).body.data;
    expect(feed[0]).toMatchObject({ type: 'webhook.disabled', data: { webhookId: hook.id } });
    const enabled = await h.req('PATCH', path, { body: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    await h.req('DELETE', path);
  });
});

describe('webhook targets (SSRF)', () => {
  let strict: Harness;
  beforeAll(async () => {
    strict = await startHarness({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
  });
  afterAll(async () => {
    await strict.close();
  });

  it('refuses loopback and private targets with a clear 422 unless private targets are allowed, and metadata addresses always', async () => {
    const acc = (await strict.createAccount('Strict')).accountId;
    const create = (hh: Harness, account: string, url: string) => hh.req('POST', `/v2/accounts/${account}/webhooks`, { body: { url, events: ['registered'] } });
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.1.2.3/hook', 'http://[::1]/hook', 'http://192.168.0.10/hook']) {
      const r = await create(strict, acc, url);
      expect([url, r.status]).toEqual([url, 422]);
      expect(r.body.errors[0]).toMatchObject({ field: 'url', code: 'refused-address' });
      expect(r.body.errors[0].message).toMatch(/WEBHOOK_ALLOW_PRIVATE_TARGETS/);
    }
    for (const [hh, account] of [[strict, acc], [h, accountId]] as const) {
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://169.254.1.1/']) {
        const r = await create(hh, account, url);
        expect([url, r.status, r.body.errors[0].code]).toEqual([url, 422, 'refused-address']);
        expect(r.body.errors[0].message).toMatch(/never allowed/);
      }
    }
    expect((await create(strict, acc, 'ftp://files.example/x')).body.errors[0].code).toBe('unsupported-scheme');
    expect((await create(strict, acc, 'https://user:secret@hooks.example/x')).body.errors[0].code).toBe('credentials-in-url');
    expect((await create(strict, acc, 'not a url')).body.errors[0].code).toBe('invalid-url');
    // Allowed where private targets are: loopback (and a PATCH to a metadata address is refused too).
    const ok = await create(h, accountId, 'http://127.0.0.1:9/ok');
    expect(ok.status).toBe(201);
    const patched = await h.req('PATCH', `/v2/accounts/${accountId}/webhooks/${ok.body.id}`, { body: { url: 'http://169.254.169.254/' } });
    expect(patched.status).toBe(422);
    await h.req('DELETE', `/v2/accounts/${accountId}/webhooks/${ok.body.id}`);
  });

  it('keeps to WEBHOOK_MAX_PER_ACCOUNT under concurrent creations', async () => {
    const limited = await startHarness({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_MAX_PER_ACCOUNT: '3' });
    try {
      const acc = (await limited.createAccount('Limited')).accountId;
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => limited.req('POST', `/v2/accounts/${acc}/webhooks`, { body: { url: `http://127.0.0.1:9/${i}`, events: ['*'] } })),
      );
      expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
      const refused = answers.filter((r) => r.status === 422);
      expect(refused).toHaveLength(7);
      expect(refused.every((r) => r.body.errors[0].code === 'limit-reached')).toBe(true);
      expect((await limited.req('GET', `/v2/accounts/${acc}/webhooks`)).body.data).toHaveLength(3);
    } finally {
      await limited.close();
    }
  });

  it('keeps webhooks to their account', async () => {
    const other = await h.createAccount('Other');
    const r = await receiver(() => 200);
    const { hook } = await setUp(r.url, ['registered'], 4);
    const as = { token: other.key };
    expect((await h.req('GET', `/v2/accounts/${accountId}/webhooks`, as)).status).toBe(403);
    expect((await h.req('POST', `/v2/accounts/${accountId}/webhooks`, { ...as, body: { url: r.url, events: ['*'] } })).status).toBe(403);
    for (const path of [`/v2/accounts/${accountId}/webhooks/${hook.id}`, `/v2/accounts/${other.accountId}/webhooks/${hook.id}`]) {
      expect((await h.req('GET', path, as)).status).toBe(404);
      expect((await h.req('PATCH', path, { ...as, body: { enabled: false } })).status).toBe(404);
      expect((await h.req('DELETE', path, as)).status).toBe(404);
      expect((await h.req('POST', `${path}/rotate-secret`, as)).status).toBe(404);
      expect((await h.req('GET', `${path}/deliveries`, as)).status).toBe(404);
    }
    expect((await h.req('GET', `/v2/accounts/${other.accountId}/webhooks`, as)).body.data).toEqual([]);
    // Validation: unknown event types, repeats, empty lists, unknown fields.
    for (const body of [{ url: r.url, events: ['bogus'] }, { url: r.url, events: [] }, { url: r.url, events: ['registered', 'registered'] }, { url: r.url, events: ['*'], secret: 'mine' }]) {
      expect((await h.req('POST', `/v2/accounts/${accountId}/webhooks`, { body })).status).toBe(422);
    }
  });
});

describe('webhook durability', () => {
  let db: TestDb;
  const prefix = testKeyPrefix();
  const adminKey = `admin-${randomBytes(18).toString('base64url')}`;
  const env = {
    ...process.env,
    ...FAST_RETRIES,
    WEBHOOK_TIMEOUT_MS: '1000',
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: adminKey,
    CREDENTIAL_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    API_STREAM_TOKEN_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
  };
  const children: ChildProcess[] = [];

  /** A real API process over this test's schema; resolves with its base URL once it listens. */
  const startChild = async (): Promise<{ child: ChildProcess; url: string }> => {
    const child = spawn(process.execPath, ['-r', join(__dirname, '..', '..', 'shared', 'testing', 'swc-register.js'), join(__dirname, 'fixtures', 'api-process.ts')], {
      env: { ...env, DATABASE_URL: db.databaseUrl, TEST_DATABASE_SCHEMA: db.schema },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`API process exited (${code})`)));
    });
    return { child, url: `http://127.0.0.1:${port}` };
  };
  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: { 'X-Auth-Token': adminKey, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- API JSON
  };

  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const redis = testRedis();
    await clearPrefix(redis, prefix);
    redis.disconnect();
    await db.close();
  });

  it('loses no delivery when the API process is killed (kill -9) in the middle of an attempt', async () => {
    // 1st attempt 500, 2nd hangs until the process that made it is dead, then 200.
    const r = await receiver((n) => (n === 1 ? 500 : n === 2 ? 'hang' : 200));
    const first = await startChild();
    const acc = await call(first.url, 'POST', '/v2/accounts', { name: 'Durable' });
    const accountPath = `/v2/accounts/${acc.body.account.id}`;
    const hook = await call(first.url, 'POST', `${accountPath}/webhooks`, { url: r.url, events: ['device.created'] });
    expect(hook.status).toBe(201);
    expect((await call(first.url, 'POST', `${accountPath}/devices/sip`, deviceBody(9))).status).toBe(201);
    await until(async () => r.requests.length >= 2, 10_000, 'the second attempt under way');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startChild();
    // Its lease (timeout + margin) over, the new process takes the delivery over.
    await until(async () => r.requests.length >= 3, 20_000, 'the attempt after the restart');
    await until(async () => (await call(second.url, 'GET', `${accountPath}/webhooks/${hook.body.id}/deliveries`)).body.data[0]?.state === 'delivered', 5000, 'delivered');
    const ids = r.requests.map((q) => q.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    const list = (await call(second.url, 'GET', `${accountPath}/webhooks/${hook.body.id}/deliveries`)).body.data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ state: 'delivered', lastStatus: 200, attempts: 3 });
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  }, 60_000);
});
