import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from '../../shared/logger';
import { Harness, startHarness } from '../../api/test/helpers/harness';
import { CredentialCipher } from '../../shared/credentials';
import { createPool } from '../../shared/db';
import { createRedis, Redis } from '../../shared/redis';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { testRedisUrl } from '../../shared/testing/env';
import { lineSettings, readPolycomMaster } from '../../shared/testing/provisioning-parsers';
import { clearPrefix, testKeyPrefix } from '../../shared/testing/redis';
import { selfSignedCert } from '../../shared/testing/tls';
import { until } from '../../shared/testing/wait';
import { loadProvisioningConfig } from '../config';
import { RunningProvisioning, startProvisioning } from '../index';
import { digestAuthorization, digestChallenge, FetchReply, phoneFetch, rawGet } from './phone-fetch';

// A real provisioning server and a real API over one PostgreSQL schema and Redis prefix;
// phones are plain HTTP clients that send what the vendor's firmware sends.

let db: TestDb;
let redis: Redis;
let prefix: string;
let prov: RunningProvisioning;
let h: Harness;
let provUrl: string;
const cipher = new CredentialCipher(new Map([['t1', randomBytes(32)]]), 't1');
const NONCE_SECRET = randomBytes(24).toString('hex');
const started: RunningProvisioning[] = [];
/** Every log line of the provisioning servers, and every secret the tests saw: none may appear in them. */
const logs: string[] = [];
const secrets = new Set<string>();
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    logs.push(chunk.toString('utf8'));
    cb();
  },
});

function provConfig(env: Record<string, string>) {
  return loadProvisioningConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: prefix, PROVISIONING_NONCE_SECRET: NONCE_SECRET, LOG_LEVEL: 'silent', ...env });
}

async function startProv(env: Record<string, string> = {}): Promise<RunningProvisioning> {
  const p = await startProvisioning({ config: provConfig(env), log: pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink), pool: db.pool, redis, cipher, host: '127.0.0.1', port: 0, metricsPort: 0 });
  started.push(p);
  return p;
}

beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis(testRedisUrl());
  prefix = testKeyPrefix();
  // Failed attempts of this file's many cases all come from 127.0.0.1: the throttling case runs its own server.
  prov = await startProv({ PROVISIONING_FAILURE_LIMIT: '1000' });
  provUrl = `http://127.0.0.1:${prov.address.port}`;
  h = await startHarness({ PROVISIONING_PUBLIC_URL: provUrl }, { shared: { db, prefix }, cipher });
});

afterAll(async () => {
  await h?.close();
  for (const p of started) await p.stop();
  await clearPrefix(redis, prefix).catch(() => undefined);
  redis?.disconnect();
  await db?.close();
});

interface Phone {
  accountId: string;
  key: string;
  deviceId: string;
  sipUsername: string;
  sipPassword: string;
  sipDomain: string;
  /** 12 lower-case hex digits. */
  mac: string;
  /** The account's provisioning credentials, from the credentials route. */
  url: string;
  username: string;
  password: string;
}

let counter = 0;

/** An account (or the one given) and a device on it, through the API; the provisioning credentials from its credentials route. */
async function provisionDevice(manufacturer: string, model: string, account?: { accountId: string; key: string }, extra: Record<string, unknown> = {}): Promise<Phone> {
  counter += 1;
  const acct = account ?? (await h.createAccount(`Provisioned ${counter}`, `tenant${counter}.example.com`));
  const mac = `0c383e${randomBytes(3).toString('hex')}`;
  const created = await h.req('POST', `/v2/accounts/${acct.accountId}/devices/sip`, {
    token: acct.key,
    body: { name: `Phone ${counter}`, manufacturer, model, macAddress: mac.match(/../g)!.join(':'), sipUsername: `desk${counter}`, displayName: `Desk ${counter}`, ...extra },
  });
  expect(created.status).toBe(201);
  const creds = await h.req('GET', `/v2/accounts/${acct.accountId}/devices/sip/${created.body.id}/credentials`, { token: acct.key });
  expect(creds.status).toBe(200);
  secrets.add(created.body.credentials.sipPassword);
  secrets.add(creds.body.provisioning.password);
  return {
    accountId: acct.accountId,
    key: acct.key,
    deviceId: created.body.id,
    sipUsername: created.body.sipUsername,
    sipPassword: created.body.credentials.sipPassword,
    sipDomain: creds.body.sipDomain,
    mac,
    url: creds.body.provisioning.url,
    username: creds.body.provisioning.username,
    password: creds.body.provisioning.password,
  };
}

const colons = (mac: string): string => mac.match(/../g)!.join(':');

interface VendorCase {
  manufacturer: string;
  model: string;
  vendor: string;
  /** The file the phone asks for first. */
  file: (mac: string) => string;
  userAgent: (mac: string) => string;
  codecs: string[];
}

// File names and User-Agents as each vendor's firmware sends them (docs/provisioning.md).
const VENDOR_CASES: VendorCase[] = [
  { manufacturer: 'Yealink', model: 'SIP-T46S', vendor: 'yealink', file: (m) => `${m}.cfg`, userAgent: (m) => `Yealink SIP-T46S 66.86.0.15 ${colons(m)}`, codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'] },
  { manufacturer: 'Polycom', model: 'VVX 410', vendor: 'polycom', file: (m) => `${m}.cfg`, userAgent: (m) => `FileTransport PolycomVVX-VVX_410-UA/6.4.3.5018 (SN:${m}) Type/Application`, codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'] },
  { manufacturer: 'Grandstream', model: 'GXP2170', vendor: 'grandstream', file: (m) => `cfg${m}.xml`, userAgent: (m) => `Grandstream Model HW GXP2170 SW 1.0.11.6 DevId ${m}`, codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'] },
  { manufacturer: 'Cisco', model: 'SPA504G', vendor: 'cisco', file: (m) => `spa${m}.xml`, userAgent: () => 'Cisco/SPA504G-7.6.2c (CBT1234ABCD)', codecs: ['PCMU', 'PCMA', 'G729'] },
  { manufacturer: 'Snom', model: 'D785', vendor: 'snom', file: (m) => `snomD785-${m.toUpperCase()}.htm`, userAgent: (m) => `Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00004 OpenSSL ${m.toUpperCase()} SXM:0 UXM:0)`, codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'] },
  { manufacturer: 'Fanvil', model: 'X4U', vendor: 'fanvil', file: (m) => `${m}.cfg`, userAgent: (m) => `Fanvil X4U 2.12.6 ${m}`, codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'] },
];

/** Fetches a vendor's file(s) as its phone does and returns the body holding the line. */
async function fetchAsPhone(c: VendorCase, p: Phone, auth: { username: string; password: string } = p): Promise<{ reply: FetchReply; challenged: FetchReply | null }> {
  const first = await phoneFetch(`${p.url}/${c.file(p.mac)}`, { userAgent: c.userAgent(p.mac), ...auth });
  if (c.vendor !== 'polycom' || first.status !== 200) return { reply: first, challenged: first.challenged };
  // Polycom: the master file names the settings file, fetched next.
  const sipFile = readPolycomMaster(first.body).get('CONFIG_FILES')!;
  const second = await phoneFetch(`${p.url}/${sipFile}`, { userAgent: c.userAgent(p.mac), ...auth });
  return { reply: second, challenged: first.challenged };
}

describe('each vendor\'s phone fetches its file by MAC with Digest authentication', () => {
  it.each(VENDOR_CASES)('$vendor: file name and User-Agent as the phone sends them; the strict reader finds the line', async (c) => {
    const p = await provisionDevice(c.manufacturer, c.model);
    const displayName = `Desk ${counter}`;
    expect(p.url).toBe(provUrl);
    expect(p.username).toMatch(/^prov-[0-9a-f]{16}$/);
    const { reply, challenged } = await fetchAsPhone(c, p);
    expect(challenged?.status).toBe(401);
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(lineSettings(c.vendor, reply.body)).toEqual({
      username: p.sipUsername,
      password: p.sipPassword,
      displayName,
      server: p.sipDomain,
      port: 5060,
      transport: 'UDP',
      codecs: c.codecs,
      rtpPortMin: 16000,
      rtpPortMax: c.vendor === 'grandstream' ? null : 32000,
    });
  });

  it('the account\'s transport (TLS on 5061) reaches the file', async () => {
    const acct = await h.createAccount('TLS account', 'tls.example.com');
    const patched = await h.req('PATCH', `/v2/accounts/${acct.accountId}`, { body: { transportProtocol: 'TLS', sipPort: 5061 } });
    expect(patched.status).toBe(200);
    const p = await provisionDevice('Yealink', 'T54W', acct);
    const { reply } = await fetchAsPhone(VENDOR_CASES[0]!, p);
    const line = lineSettings('yealink', reply.body);
    expect([line.transport, line.port]).toEqual(['TLS', 5061]);
  });
});

describe('authentication', () => {
  it('no credentials: 401 with a Digest (MD5, qop=auth) challenge and no Basic over plain HTTP', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const r = await rawGet(`${p.url}/${p.mac}.cfg`, { 'User-Agent': VENDOR_CASES[0]!.userAgent(p.mac) });
    expect(r.status).toBe(401);
    expect(r.body).not.toContain(p.sipPassword);
    const challenge = digestChallenge(r)!;
    expect(challenge).toMatchObject({ realm: 'provisioning', qop: 'auth', algorithm: 'MD5' });
    expect(challenge.nonce!.length).toBeGreaterThan(10);
    expect(String(r.headers['www-authenticate'])).not.toMatch(/Basic/i);
  });

  it('wrong password, unknown MAC, another account\'s MAC and an unknown username get the same answer', async () => {
    const a = await provisionDevice('Yealink', 'T46S');
    const b = await provisionDevice('Yealink', 'T46S');
    const ask = (mac: string, username: string, password: string) => phoneFetch(`${a.url}/${mac}.cfg`, { username, password });
    const answers = [
      await ask(a.mac, a.username, 'wrong-password'),
      await ask('0c383e000000', a.username, a.password),
      await ask(b.mac, a.username, a.password),
      await ask(a.mac, 'prov-0000000000000000', a.password),
    ];
    const shape = (r: FetchReply) => ({
      status: r.status,
      body: r.body,
      headers: Object.keys(r.headers).filter((k) => k !== 'date').sort(),
      contentType: r.headers['content-type'],
      challenge: Object.keys(digestChallenge(r) ?? {}).sort(),
    });
    expect(answers[0]!.status).toBe(401);
    for (const r of answers) expect(shape(r)).toEqual(shape(answers[0]!));
    // The right credentials for the right MAC are served: the refusals above are about what they asked.
    expect((await ask(a.mac, a.username, a.password)).status).toBe(200);
    expect((await ask(b.mac, b.username, b.password)).status).toBe(200);
  });

  it('Basic over plain HTTP is refused even with the right password', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const r = await phoneFetch(`${p.url}/${p.mac}.cfg`, { auth: 'basic', username: p.username, password: p.password });
    expect(r.status).toBe(401);
    expect(r.body).not.toContain(p.sipPassword);
  });

  it('a User-Agent naming another MAC gets 403, even with the right credentials', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const r = await phoneFetch(`${p.url}/${p.mac}.cfg`, { userAgent: 'Yealink SIP-T46S 66.86.0.15 0c:38:3e:99:99:99', username: p.username, password: p.password });
    expect(r.status).toBe(403);
    expect(r.body).not.toContain(p.sipPassword);
    const polycom = await provisionDevice('Polycom', 'VVX 410');
    const r2 = await phoneFetch(`${polycom.url}/${polycom.mac}.cfg`, { userAgent: 'FileTransport PolycomVVX-VVX_410-UA/6.4.3.5018 (SN:0004f2000001) Type/Application', username: polycom.username, password: polycom.password });
    expect(r2.status).toBe(403);
  });

  it('a replayed Authorization header is challenged again, and a digest for another file is refused', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const url = `${p.url}/${p.mac}.cfg`;
    const first = await rawGet(url, {});
    const auth = digestAuthorization(digestChallenge(first)!, p.username, p.password, 'GET', `/${p.mac}.cfg`);
    expect((await rawGet(url, { Authorization: auth })).status).toBe(200);
    expect((await rawGet(url, { Authorization: auth })).status).toBe(401);
    const other = digestAuthorization(digestChallenge(first)!, p.username, p.password, 'GET', '/0c383e000001.cfg', 2);
    expect((await rawGet(url, { Authorization: other })).status).toBe(401);
  });

  it('brute force is throttled per source: past the limit even the right password gets 429 with Retry-After', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    // Its own server, counters and limit (3): the other cases' failures do not count here.
    const strict = await startProv({ REDIS_KEY_PREFIX: `${prefix}throttle:`, PROVISIONING_FAILURE_LIMIT: '3', PROVISIONING_BLOCK_S: '600' });
    const url = `http://127.0.0.1:${strict.address.port}/${p.mac}.cfg`;
    expect((await phoneFetch(url, { username: p.username, password: p.password })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await phoneFetch(url, { username: p.username, password: `guess-${i}` })).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    const blocked = await phoneFetch(url, { username: p.username, password: p.password });
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('600');
    expect(blocked.body).not.toContain(p.sipPassword);
    // The limit is per source: the block holds in the other server's counters only where they are shared (not here).
    expect((await phoneFetch(`${p.url}/${p.mac}.cfg`, { username: p.username, password: p.password })).status).toBe(200);
  });

  it('over HTTPS, Basic is offered and accepted', async () => {
    const tls = selfSignedCert();
    const secure = await startProv({ PROVISIONING_TLS_CERT: tls.certPath, PROVISIONING_TLS_KEY: tls.keyPath, PROVISIONING_FAILURE_LIMIT: '1000' });
    expect(secure.secure).toBe(true);
    const p = await provisionDevice('Grandstream', 'GXP2170');
    const url = `https://127.0.0.1:${secure.address.port}/cfg${p.mac}.xml`;
    const challenge = await phoneFetch(url, { auth: 'none', ca: tls.cert });
    expect(challenge.status).toBe(401);
    expect(String(challenge.headers['www-authenticate'])).toMatch(/Basic realm="provisioning"/);
    const basic = await phoneFetch(url, { auth: 'basic', username: p.username, password: p.password, ca: tls.cert });
    expect(basic.status).toBe(200);
    expect(lineSettings('grandstream', basic.body).password).toBe(p.sipPassword);
    expect((await phoneFetch(url, { auth: 'basic', username: p.username, password: 'nope', ca: tls.cert })).status).toBe(401);
    expect((await phoneFetch(url, { username: p.username, password: p.password, ca: tls.cert })).status).toBe(200);
  });
});

describe('path tokens', () => {
  it('a device\'s token URL serves its file without credentials; a wrong, removed or other device\'s token is 404', async () => {
    const p = await provisionDevice('Fanvil', 'X4U');
    const other = await provisionDevice('Fanvil', 'X4U', { accountId: p.accountId, key: p.key });
    const made = await h.req('POST', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning/token`, { token: p.key });
    expect(made.status).toBe(201);
    const tokenUrl: string = made.body.tokenUrl;
    expect(tokenUrl.startsWith(`${provUrl}/t/`)).toBe(true);
    const ok = await rawGet(`${tokenUrl}/${p.mac}.cfg`, { 'User-Agent': `Fanvil X4U 2.12.6 ${p.mac}` });
    expect(ok.status).toBe(200);
    expect(lineSettings('fanvil', ok.body).password).toBe(p.sipPassword);
    // The credentials route shows it too.
    const creds = await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/credentials`, { token: p.key });
    expect(creds.body.provisioning.tokenUrl).toBe(tokenUrl);
    expect((await rawGet(`${tokenUrl}/${other.mac}.cfg`, {})).status).toBe(404);
    expect((await rawGet(`${provUrl}/t/${'A'.repeat(32)}/${p.mac}.cfg`, {})).status).toBe(404);
    expect((await rawGet(`${provUrl}/t/short/${p.mac}.cfg`, {})).status).toBe(404);
    expect((await h.req('DELETE', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning/token`, { token: p.key })).status).toBe(204);
    expect((await rawGet(`${tokenUrl}/${p.mac}.cfg`, {})).status).toBe(404);
    expect((await h.req('DELETE', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning/token`, { token: p.key })).status).toBe(404);
  });
});

describe('what the next fetch gets', () => {
  const yealink = VENDOR_CASES[0]!;

  it('changing the account\'s codec order, the device\'s display name, or resetting the password changes the file', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const read = async () => {
      const { reply } = await fetchAsPhone(yealink, p);
      expect(reply.status).toBe(200);
      return { body: reply.body, line: lineSettings('yealink', reply.body) };
    };
    const before = await read();
    expect(before.line.codecs).toEqual(['PCMU', 'PCMA', 'G729', 'OPUS']);

    const codecs = await h.req('PATCH', `/v2/accounts/${p.accountId}/provisioning`, { token: p.key, body: { codecs: ['OPUS', 'G722', 'PCMA'] } });
    expect(codecs.status).toBe(200);
    expect(codecs.body.settings.codecs).toEqual(['OPUS', 'G722', 'PCMA']);
    expect((await read()).line.codecs).toEqual(['OPUS', 'G722', 'PCMA']);

    expect((await h.req('PATCH', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}`, { token: p.key, body: { displayName: 'Lobby phone' } })).status).toBe(200);
    expect((await read()).line.displayName).toBe('Lobby phone');

    const reset = await h.req('POST', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/reset-password`, { token: p.key, body: { gracePeriodSeconds: 300 } });
    expect(reset.status).toBe(200);
    const after = await read();
    expect(after.line.password).toBe(reset.body.sipPassword);
    expect(after.line.password).not.toBe(p.sipPassword);
    expect(after.body).not.toContain(p.sipPassword);
  });

  it('a device\'s override wins over the account\'s value, and removing it returns to it', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const patch = await h.req('PATCH', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning`, { token: p.key, body: { codecs: ['G722'], transport: 'TCP' } });
    expect(patch.status).toBe(200);
    let line = lineSettings('yealink', (await fetchAsPhone(yealink, p)).reply.body);
    expect([line.codecs, line.transport]).toEqual([['G722'], 'TCP']);
    expect((await h.req('PATCH', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning`, { token: p.key, body: { codecs: null, transport: null } })).status).toBe(200);
    line = lineSettings('yealink', (await fetchAsPhone(yealink, p)).reply.body);
    expect([line.codecs, line.transport]).toEqual([['PCMU', 'PCMA', 'G729', 'OPUS'], 'UDP']);
  });

  it('rotating the account\'s provisioning password refuses the old one', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const rotated = await h.req('POST', `/v2/accounts/${p.accountId}/provisioning/rotate-password`, { token: p.key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.password).not.toBe(p.password);
    expect((await fetchAsPhone(yealink, p)).reply.status).toBe(401);
    expect((await fetchAsPhone(yealink, p, { username: p.username, password: rotated.body.password })).reply.status).toBe(200);
  });

  it('an inactive device gets 403; an unknown manufacturer 404 with a reason', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    expect((await h.req('PATCH', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}`, { token: p.key, body: { status: 'inactive' } })).status).toBe(200);
    expect((await fetchAsPhone(yealink, p)).reply.status).toBe(403);
    const acme = await provisionDevice('Acme Telecom', 'A1', { accountId: p.accountId, key: p.key });
    const r = await phoneFetch(`${acme.url}/${acme.mac}.cfg`, { username: acme.username, password: acme.password });
    expect(r.status).toBe(404);
    expect(r.body).toContain('Acme Telecom');
    expect(r.body).not.toContain(acme.sipPassword);
  });
});

describe('every fetch is visible', () => {
  const yealink = VENDOR_CASES[0]!;
  const events = async (p: Phone) => (await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/events`, { token: p.key })).body.data as { type: string; data: Record<string, unknown> }[];

  it('a served file is a `provisioned` event with source and User-Agent, and the device shows lastProvisioned', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    expect((await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}`, { token: p.key })).body.lastProvisioned).toBeNull();
    const before = Date.now();
    expect((await fetchAsPhone(yealink, p)).reply.status).toBe(200);
    const device = await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}`, { token: p.key });
    expect(Date.parse(device.body.lastProvisioned)).toBeGreaterThanOrEqual(before - 1000);
    const provisioned = await until(async () => (await events(p)).find((e) => e.type === 'provisioned'), 5000, 'provisioned event');
    expect(provisioned.data).toMatchObject({ sourceIp: '127.0.0.1', userAgent: yealink.userAgent(p.mac), file: `${p.mac}.cfg`, vendor: 'yealink' });
  });

  it('failures are events on the device with their reason (wrong password, MAC mismatch, unknown manufacturer)', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    expect((await phoneFetch(`${p.url}/${p.mac}.cfg`, { username: p.username, password: 'wrong' })).status).toBe(401);
    expect((await phoneFetch(`${p.url}/${p.mac}.cfg`, { userAgent: 'Yealink SIP-T46S 66.86.0.15 0c:38:3e:99:99:98', username: p.username, password: p.password })).status).toBe(403);
    const reasons = await until(async () => {
      const r = (await events(p)).filter((e) => e.type === 'provisioning_failed').map((e) => e.data.reason);
      return r.length >= 2 && r;
    }, 5000, 'failure events');
    expect([...reasons].sort()).toEqual(['mac_mismatch', 'wrong_password']);
    const acme = await provisionDevice('Acme Telecom', 'A1', { accountId: p.accountId, key: p.key });
    await phoneFetch(`${acme.url}/${acme.mac}.cfg`, { username: acme.username, password: acme.password });
    const failed = await until(async () => (await events(acme)).find((e) => e.type === 'provisioning_failed'), 5000, 'unknown manufacturer event');
    expect(failed.data).toMatchObject({ reason: 'unknown_manufacturer', manufacturer: 'Acme Telecom' });
    // No event holds a secret.
    const all = JSON.stringify([...(await events(p)), ...(await events(acme))]);
    for (const secret of [p.password, p.sipPassword, acme.sipPassword]) expect(all).not.toContain(secret);
  });
});

describe('outages', () => {
  it('PostgreSQL unreachable: 503 with Retry-After, nothing served, the server keeps answering', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    const deadPool = createPool('postgres://postgres@127.0.0.1:9/none', { max: 1 });
    const down = await startProvisioning({ config: provConfig({ PROVISIONING_FAILURE_LIMIT: '1000' }), log: pino({ level: 'silent' }), pool: deadPool, redis, cipher, host: '127.0.0.1', port: 0, metricsPort: null });
    started.push(down);
    const url = `http://127.0.0.1:${down.address.port}/${p.mac}.cfg`;
    for (let i = 0; i < 3; i++) {
      const r = await phoneFetch(url, { username: p.username, password: p.password });
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('30');
      expect(r.body).not.toContain(p.sipPassword);
    }
    expect((await rawGet(`http://127.0.0.1:${down.address.port}/livez`, {})).status).toBe(200);
    await down.stop();
    started.pop();
    await deadPool.end();
  });
});

describe('metrics', () => {
  it('count requests by outcome on their own listener', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const scrape = async () => (await rawGet(`http://127.0.0.1:${prov.metricsPort}/metrics`, {})).body;
    const count = (text: string, outcome: string) => Number(new RegExp(`^provisioning_requests_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = await scrape();
    expect((await phoneFetch(`${p.url}/${p.mac}.cfg`, { username: p.username, password: p.password })).status).toBe(200);
    expect((await phoneFetch(`${p.url}/${p.mac}.cfg`, { username: p.username, password: 'wrong' })).status).toBe(401);
    const after = await scrape();
    expect(count(after, 'provisioned') - count(before, 'provisioned')).toBe(1);
    expect(count(after, 'wrong_credentials') - count(before, 'wrong_credentials')).toBe(1);
    // Two challenges: one before each answer.
    expect(count(after, 'challenged') - count(before, 'challenged')).toBe(2);
    expect((await rawGet(`http://127.0.0.1:${prov.address.port}/metrics`, {})).status).toBe(404);
  });
});

describe('the admin preview', () => {
  it('shows the rendered file and the URL to point phones at, the password masked unless asked for (and then audited)', async () => {
    const p = await provisionDevice('Snom', 'D785');
    const path = `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning`;
    const masked = await h.req('GET', path, { token: p.key });
    expect(masked.status).toBe(200);
    expect(masked.body).toMatchObject({ url: provUrl, vendor: 'snom', passwordIncluded: false, problem: null });
    expect(masked.body.file.name).toBe(`snomD785-${p.mac.toUpperCase()}.htm`);
    expect(masked.body.file.url).toBe(`${provUrl}/snomD785-${p.mac.toUpperCase()}.htm`);
    expect(masked.text).not.toContain(p.sipPassword);
    expect(lineSettings('snom', masked.body.file.content).password).toBe('********');
    const shown = await h.req('GET', `${path}?includePassword=true`, { token: p.key });
    expect(shown.body.passwordIncluded).toBe(true);
    expect(lineSettings('snom', shown.body.file.content).password).toBe(p.sipPassword);
    expect(shown.headers.get('cache-control')).toBe('no-store');
    // The preview is what the phone gets.
    const fetched = await phoneFetch(`${p.url}/snomD785-${p.mac.toUpperCase()}.htm`, { username: p.username, password: p.password });
    expect(fetched.body).toBe(shown.body.file.content);
    const audit = await until(async () => {
      const list = (await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/events`, { token: p.key })).body.data as { type: string; data: Record<string, unknown> }[];
      return list.find((e) => e.type === 'device.credentials_viewed' && e.data.file);
    }, 5000, 'audit of the reveal');
    expect(audit.data.file).toBe(`snomD785-${p.mac.toUpperCase()}.htm`);
  });

  it('another account\'s key cannot read a device\'s preview or its provisioning settings', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const stranger = await h.createAccount('Stranger');
    expect((await h.req('GET', `/v2/accounts/${p.accountId}/devices/sip/${p.deviceId}/provisioning`, { token: stranger.key })).status).toBe(404);
    expect((await h.req('GET', `/v2/accounts/${stranger.accountId}/devices/sip/${p.deviceId}/provisioning`, { token: stranger.key })).status).toBe(404);
    expect([403, 404]).toContain((await h.req('GET', `/v2/accounts/${p.accountId}/provisioning`, { token: stranger.key })).status);
    expect([403, 404]).toContain((await h.req('PATCH', `/v2/accounts/${p.accountId}/provisioning`, { token: stranger.key, body: { codecs: ['PCMU'] } })).status);
  });

  it('bad settings are 422 problems and change nothing', async () => {
    const p = await provisionDevice('Yealink', 'T46S');
    const path = `/v2/accounts/${p.accountId}/provisioning`;
    for (const body of [{ codecs: [] }, { codecs: ['PCMU', 'PCMU'] }, { codecs: ['SPEEX'] }, { rtpPortMin: 30000, rtpPortMax: 20000 }, { dscpRtp: 64 }, { utcOffset: '+25:00' }, { ntpServer: 'a b' }, { transport: 'TCP' }, { unknown: 1 }]) {
      const r = await h.req('PATCH', path, { token: p.key, body });
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await h.req('GET', path, { token: p.key })).body.settings).toMatchObject({ codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'], rtpPortMin: 16000, rtpPortMax: 32000, dscpRtp: 46 });
  });
});

describe('logs', () => {
  it('hold no SIP or provisioning password of any case above', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(10);
    const all = logs.join('');
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
