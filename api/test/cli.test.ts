import { randomBytes } from 'node:crypto';
import { CredentialCipher } from '../../shared/credentials';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { testKeyPrefix } from '../../shared/testing/redis';
import { runCli, UsageError } from '../../scripts/cli';
import { loadApiConfig } from '../config';
import { RunningApi, startApi } from '../index';

let db: TestDb;
let api: RunningApi;
let base: string;

beforeAll(async () => {
  db = await createTestDb();
  const config = loadApiConfig({ DATABASE_URL: db.databaseUrl, REDIS_KEY_PREFIX: testKeyPrefix(), LOG_LEVEL: 'silent' });
  api = await startApi({ config, pool: db.pool, cipher: new CredentialCipher(new Map([['t', randomBytes(32)]]), 't'), host: '127.0.0.1', port: 0, metricsPort: null });
  base = `http://127.0.0.1:${api.address.port}`;
});
afterAll(async () => {
  await api.stop();
  await db.close();
});

async function cli(...argv: string[]): Promise<string[]> {
  const out: string[] = [];
  await runCli(db.pool, argv, 'cli.sip.example', (l) => out.push(l));
  return out;
}

const keyIn = (lines: string[]): string => /(sk_key_\S+)/.exec(lines.join('\n'))![1]!;

describe('operator CLI', () => {
  it('accounts:create prints an account and a key that works against the API', async () => {
    const out = await cli('accounts:create', '--name', 'Acme Phones', '--sip-domain', 'SIP.Acme.example');
    const accountId = /account (acc_\w+)/.exec(out[0]!)![1]!;
    expect(out[0]).toContain('sipDomain=sip.acme.example');
    const r = await fetch(`${base}/v2/accounts/${accountId}`, { headers: { 'X-Auth-Token': keyIn(out) } });
    expect(r.status).toBe(200);
    expect((await cli('accounts:list')).join('\n')).toContain(accountId);
  });

  it('keys:create --operator makes a platform-wide key; keys:revoke stops it', async () => {
    const out = await cli('keys:create', '--operator', '--name', 'ops');
    const key = keyIn(out);
    const keyId = /api key (key_\w+)/.exec(out[0]!)![1]!;
    expect((await fetch(`${base}/v2/accounts`, { headers: { 'X-Auth-Token': key } })).status).toBe(200);
    expect((await cli('keys:list', '--operator')).join('\n')).toMatch(new RegExp(`${keyId}\\s+active`));
    await cli('keys:revoke', keyId);
    expect((await cli('keys:list', '--operator')).join('\n')).toMatch(new RegExp(`${keyId}\\s+revoked`));
    // Revoked in the database; this API process sees it once its cache entry expires, or at once for a fresh key check.
    const fresh = await cli('keys:create', '--operator');
    await cli('keys:revoke', /api key (key_\w+)/.exec(fresh[0]!)![1]!);
    expect((await fetch(`${base}/v2/accounts`, { headers: { 'X-Auth-Token': keyIn(fresh) } })).status).toBe(401);
  });

  it('keys for an account, listed without secrets', async () => {
    const acc = await cli('accounts:create', '--name', 'Keys Co');
    const accountId = /account (acc_\w+)/.exec(acc[0]!)![1]!;
    const k = await cli('keys:create', '--account', accountId, '--name', 'second');
    const listed = (await cli('keys:list', '--account', accountId)).join('\n');
    expect(listed).toContain('"second"');
    expect(listed).toContain('"default"');
    expect(listed).not.toContain(keyIn(k));
    expect(listed).not.toContain('sk_');
  });

  it('rejects bad usage with a UsageError', async () => {
    for (const argv of [['bogus'], ['accounts:create'], ['keys:create'], ['keys:create', '--account', 'acc_nope'], ['keys:revoke', 'nope'], ['keys:revoke', 'key_missing'], ['accounts:create', '--name', 'x', '--sip-domain', 'bad domain']]) {
      await expect(cli(...argv)).rejects.toBeInstanceOf(UsageError);
    }
    expect((await cli('help')).join('\n')).toContain('accounts:create');
  });
});
