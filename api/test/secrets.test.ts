import { createHash } from 'node:crypto';
import { deviceBody, Harness, startHarness } from './helpers/harness';

let h: Harness;
let accountId: string;
let key: string;
const devicesPath = (): string => `/v2/accounts/${accountId}/devices/sip`;

beforeAll(async () => {
  h = await startHarness();
  ({ accountId, key } = await h.createAccount('Secrets'));
});
afterAll(async () => {
  await h.close();
});

describe('secrets at rest', () => {
  it('stores the SIP password as AES-256-GCM ciphertext only, and HA1 values that verify against it', async () => {
    const r = await h.req('POST', devicesPath(), { token: key, body: deviceBody(1) });
    const password: string = r.body.credentials.sipPassword;
    const row = (await h.db.pool.query('SELECT * FROM devices WHERE id = $1', [r.body.id])).rows[0];
    const everything = JSON.stringify(row);
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(Buffer.from(password).toString('base64'));
    expect(row.password_enc).toMatch(/^t1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(h.cipher.decrypt(row.password_enc, r.body.id)).toBe(password);
    const md5 = createHash('md5').update(`user1:sip.test.example:${password}`).digest('hex');
    const sha = createHash('sha256').update(`user1:sip.test.example:${password}`).digest('hex');
    expect(row.ha1_md5).toBe(md5);
    expect(row.ha1_sha256).toBe(sha);
  });

  it('two devices never share ciphertext, even with equal passwords encrypted twice', async () => {
    const a = h.cipher.encrypt('samePassword123', 'dev_sip_a');
    const b = h.cipher.encrypt('samePassword123', 'dev_sip_a');
    expect(a).not.toBe(b);
  });

  it('a ciphertext that cannot be decrypted is a 500 whose answer and log carry no secret', async () => {
    const r = await h.req('POST', devicesPath(), { token: key, body: deviceBody(2) });
    const other = await h.req('POST', devicesPath(), { token: key, body: deviceBody(3) });
    // Move device 3's ciphertext onto device 2: bound to another device id, it must not decrypt.
    await h.db.pool.query('UPDATE devices SET password_enc = (SELECT password_enc FROM devices WHERE id = $2) WHERE id = $1', [r.body.id, other.body.id]);
    const creds = await h.req('GET', `${devicesPath()}/${r.body.id}/credentials`, { token: key });
    expect(creds.status).toBe(500);
    expect(creds.body.code).toBe('internal-error');
    expect(creds.text).not.toContain(other.body.credentials.sipPassword);
    expect(h.logs.join('')).toContain('cannot decrypt stored credential');
  });
});

describe('no response, log line or error leaks a password, HA1 or key', () => {
  it('after a full tour of the API, secrets appear only in the responses meant to carry them', async () => {
    const allowed = new Map<string, Set<number>>(); // secret -> indexes of exchanges allowed to carry it
    const allow = (secret: string, index: number): void => {
      if (!allowed.has(secret)) allowed.set(secret, new Set());
      allowed.get(secret)!.add(index);
    };
    const last = (): number => h.exchanges.length - 1;
    allow(key, 0); // the account creation in beforeAll
    allow(h.adminKey, -1);

    const second = await h.req('POST', `/v2/accounts/${accountId}/api-keys`, { token: key, body: { name: 'second' } });
    allow(second.body.key, last());
    const passwords: string[] = [];
    for (let i = 10; i < 14; i++) {
      const c = await h.req('POST', devicesPath(), { token: key, body: deviceBody(i) });
      const id: string = c.body.id;
      allow(c.body.credentials.sipPassword, last());
      passwords.push(c.body.credentials.sipPassword);
      await h.req('GET', `${devicesPath()}/${id}`, { token: second.body.key });
      const cr = await h.req('GET', `${devicesPath()}/${id}/credentials`, { token: key });
      allow(cr.body.sipPassword, last());
      await h.req('PATCH', `${devicesPath()}/${id}`, { token: key, body: { displayName: 'x' } });
      const rs = await h.req('POST', `${devicesPath()}/${id}/reset-password`, { token: key, body: { gracePeriodSeconds: 60 } });
      allow(rs.body.sipPassword, last());
      passwords.push(rs.body.sipPassword);
      // Error paths that carry a body: invalid and unknown fields, a conflict, a wrong content type.
      await h.req('PATCH', `${devicesPath()}/${id}`, { token: key, body: { sipPassword: c.body.credentials.sipPassword, status: 'x' } });
      await h.req('POST', devicesPath(), { token: key, body: deviceBody(i) });
      await h.req('POST', devicesPath(), { token: key, raw: `password=${rs.body.sipPassword}`, contentType: 'text/plain' });
    }
    // A mistyped key (a real key with one character changed) is refused and not logged.
    const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    expect((await h.req('GET', devicesPath(), { token: typo })).status).toBe(401);
    await h.req('GET', `/v2/accounts/${accountId}/api-keys`, { token: key });
    await h.req('GET', devicesPath() + '?limit=200', { token: key });

    const { rows } = await h.db.pool.query('SELECT ha1_md5, ha1_sha256, prev_ha1_md5, prev_ha1_sha256, password_enc FROM devices');
    const dbSecrets = rows.flatMap((r) => [r.ha1_md5, r.ha1_sha256, r.prev_ha1_md5, r.prev_ha1_sha256, r.password_enc]).filter((s): s is string => !!s && s.length > 8);
    const keyHashes = (await h.db.pool.query('SELECT secret_hash FROM api_keys')).rows.map((r) => r.secret_hash as string);
    expect(dbSecrets.length).toBeGreaterThan(20);

    // Responses: HA1, ciphertext and hashes never; passwords and keys only where allowed.
    h.exchanges.forEach((ex, i) => {
      const text = ex.reply.text + JSON.stringify([...ex.reply.headers]);
      for (const s of [...dbSecrets, ...keyHashes]) expect(text.includes(s) ? `${ex.method} ${ex.path} leaks a stored secret` : null).toBeNull();
      for (const [secret, where] of allowed) {
        if (text.includes(secret) && !where.has(i)) throw new Error(`${ex.method} ${ex.path} (${ex.reply.status}) leaks a password or key`);
      }
    });

    // Logs: nothing secret at all, though the log is full of lines about these very requests.
    const logs = h.logs.join('');
    expect(logs).toContain('device created');
    expect(logs).toContain('device password reset');
    for (const s of [...passwords, ...allowed.keys(), typo, ...dbSecrets, ...keyHashes]) {
      if (logs.includes(s)) throw new Error('a log line carries a secret');
    }
  });
});
