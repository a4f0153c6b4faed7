import { randomBytes } from 'node:crypto';
import { startApi, RunningApi } from '../../api';
import { loadApiConfig } from '../../api/config';
import { testDatabaseUrl } from '../../shared/testing/env';
import { runSipp, SippRow } from './sipp';
import { DOMAIN, Stack, startStack } from './support';

/**
 * The SIPp scenarios of sipp-scenarios/ against the full stack (edge + registrar
 * + API, real PostgreSQL and Redis), then the live state as the API shows it.
 * SIPp 3.6 answers only MD5 challenges, hence REGISTRAR_MD5_ONLY here.
 */
describe('SIPp scenarios against the full stack', () => {
  let stack: Stack;
  let api: RunningApi;
  const adminKey = randomBytes(24).toString('hex');
  const user = (n: string): SippRow => ({ user: n, password: `${n}-pw-123`, domain: DOMAIN });

  beforeAll(async () => {
    stack = await startStack({ registrar: { md5Only: true, blockSourceThreshold: 1000, blockUserThreshold: 1000 } });
    const config = loadApiConfig({
      DATABASE_URL: testDatabaseUrl(),
      REDIS_KEY_PREFIX: stack.prefix,
      ADMIN_API_KEY: adminKey,
      CREDENTIAL_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      LOG_LEVEL: 'silent',
    });
    api = await startApi({ config, pool: stack.db.pool, redis: stack.redis, host: '127.0.0.1', port: 0, metricsPort: null });
    for (const n of ['sa', 'sb', 'sc', 'sd', 'se', 'sf', 'sg', 'sh']) await stack.addDevice({ id: `dev_sip_${n}`, username: n, password: `${n}-pw-123` });
    await stack.addDevice({ id: 'dev_sip_sx', username: 'sx', password: 'sx-pw-123', status: 'inactive' });
  });
  afterAll(async () => {
    await api?.stop();
    await stack.stop();
  });

  async function device(id: string): Promise<{ registrationStatus: string; lastRegistration: string | null; ipAddress: string | null }> {
    const res = await fetch(`http://127.0.0.1:${api.address.port}/v2/accounts/${stack.accountId}/devices/sip/${id}`, { headers: { 'X-Auth-Token': adminKey } });
    expect(res.status).toBe(200);
    return (await res.json()) as { registrationStatus: string; lastRegistration: string | null; ipAddress: string | null };
  }

  it('registers with digest and refreshes over UDP; the API shows registered, lastRegistration and ipAddress', async () => {
    expect(await device('dev_sip_sa')).toMatchObject({ registrationStatus: 'pending', lastRegistration: null, ipAddress: null });
    const before = Date.now();
    const r = await runSipp({ scenario: 'register-digest.xml', target: stack.udp, rows: [user('sa'), user('sb')] });
    expect(r).toEqual({ code: 0, errors: '' });
    const dev = await device('dev_sip_sa');
    expect(dev).toMatchObject({ registrationStatus: 'registered', ipAddress: '127.0.0.1' });
    expect(Date.parse(dev.lastRegistration!)).toBeGreaterThanOrEqual(before - 1000);
    expect((await stack.store.getStatus('dev_sip_sb')).registrationStatus).toBe('registered');
  });

  it('registers over TCP', async () => {
    const r = await runSipp({ scenario: 'register-digest.xml', target: stack.tcp, rows: [user('sc')], transport: 't1' });
    expect(r).toEqual({ code: 0, errors: '' });
    expect(await stack.store.getStatus('dev_sip_sc')).toMatchObject({ registrationStatus: 'registered', transport: 'tcp' });
  });

  it('unregisters: the API then shows unregistered, keeping lastRegistration', async () => {
    const r = await runSipp({ scenario: 'register-unregister.xml', target: stack.udp, rows: [user('sd')] });
    expect(r).toEqual({ code: 0, errors: '' });
    const dev = await device('dev_sip_sd');
    expect(dev.registrationStatus).toBe('unregistered');
    expect(dev.lastRegistration).not.toBeNull();
  });

  it('removes every binding with Contact: *', async () => {
    const r = await runSipp({ scenario: 'register-wildcard.xml', target: stack.udp, rows: [user('se')] });
    expect(r).toEqual({ code: 0, errors: '' });
    expect(await stack.store.listBindings('dev_sip_se')).toEqual([]);
    expect((await device('dev_sip_se')).registrationStatus).toBe('unregistered');
  });

  it('registers several contacts at once', async () => {
    const r = await runSipp({ scenario: 'register-multiple-contacts.xml', target: stack.udp, rows: [user('sf')] });
    expect(r).toEqual({ code: 0, errors: '' });
    expect(await stack.store.listBindings('dev_sip_sf')).toHaveLength(2);
  });

  it('answers 423 with Min-Expires to a too-brief expiry and registers nothing', async () => {
    const r = await runSipp({ scenario: 'register-423.xml', target: stack.udp, rows: [user('sg')] });
    expect(r).toEqual({ code: 0, errors: '' });
    expect((await device('dev_sip_sg')).registrationStatus).toBe('pending');
  });

  it('answers a wrong password and an unknown user with 401; nothing registers', async () => {
    const wrong = await runSipp({ scenario: 'register-wrong-password.xml', target: stack.udp, rows: [{ ...user('sh'), password: 'not-it' }] });
    expect(wrong).toEqual({ code: 0, errors: '' });
    const unknown = await runSipp({ scenario: 'register-unknown-user.xml', target: stack.udp, rows: [user('nobody')] });
    expect(unknown).toEqual({ code: 0, errors: '' });
    expect((await device('dev_sip_sh')).registrationStatus).toBe('pending');
  });

  it('forbids an inactive device (403)', async () => {
    const r = await runSipp({ scenario: 'register-inactive.xml', target: stack.udp, rows: [user('sx')] });
    expect(r).toEqual({ code: 0, errors: '' });
    expect((await device('dev_sip_sx')).registrationStatus).toBe('pending');
  });
});
