import { randomBytes } from 'node:crypto';
import { until } from '../../shared/testing/wait';
import { buildRegister, digestAuthorization, DOMAIN, Phone, SipClient, Stack, startStack, StoredEventRow } from './support';

// What each outcome of a REGISTER writes down, read from the events table as the API serves it.
let stack: Stack;
let client: SipClient;

beforeAll(async () => {
  stack = await startStack({ registrar: { minExpires: 1, blockSourceThreshold: 1000, blockUserThreshold: 1000 } });
  await stack.addDevice({ id: 'dev_sip_ann', username: 'ann', password: 'ann-secret-1' });
  await stack.addDevice({ id: 'dev_sip_ben', username: 'ben', password: 'ben-secret-1', status: 'inactive' });
  await stack.addDevice({ id: 'dev_sip_cat', username: 'cat', password: 'cat-secret-1' });
  await stack.addDevice({ id: 'dev_sip_dan', username: 'dan', password: 'dan-secret-1' });
  await stack.addDevice({ id: 'dev_sip_eve', username: 'eve', password: 'eve-secret-1' });
  client = await SipClient.udp(stack.udp);
});
afterAll(async () => {
  client.close();
  await stack.stop();
});

async function eventOf(match: (e: StoredEventRow) => boolean, what: string): Promise<StoredEventRow> {
  let found: StoredEventRow | undefined;
  await until(async () => (found = (await stack.events()).find(match)) !== undefined, 3000, what);
  return found!;
}

describe('registration events', () => {
  it('records a phone set to a digest algorithm the registrar does not offer, on its device, without counting a failure', async () => {
    const text = buildRegister({
      user: 'ann', callId: `alg-${randomBytes(4).toString('hex')}@test`, cseq: 1, transport: 'UDP', localPort: client.localPort, contact: `<sip:ann@127.0.0.1:${client.localPort}>`, expires: 3600,
      authorization: `Digest username="ann", realm="${DOMAIN}", nonce="x", uri="sip:${DOMAIN}", response="00", algorithm=SHA-512-256, qop=auth, nc=00000001, cnonce="c"`,
    });
    client.send(text);
    const callId = /Call-ID: (\S+)/.exec(text)![1]!;
    expect((await client.next(callId, 1))?.status).toBe(401);
    const e = await eventOf((x) => x.data.reason === 'algorithm_unsupported', 'algorithm_unsupported');
    expect(e).toMatchObject({ type: 'auth_failed', deviceId: 'dev_sip_ann', accountId: stack.accountId });
    expect(await stack.redis.exists(`${stack.prefix}{sb}fail:src:127.0.0.1`)).toBe(0);
  });

  it('records an inactive device and a foreign address-of-record as authorisation failures answered 403', async () => {
    expect((await new Phone(client, 'ben', 'ben-secret-1').register()).final?.status).toBe(403);
    expect(await eventOf((x) => x.data.reason === 'device_inactive', 'device_inactive')).toMatchObject({ type: 'auth_failed', deviceId: 'dev_sip_ben', data: { status: 403 } });
    expect((await new Phone(client, 'cat', 'cat-secret-1', { toUser: 'ann' }).register()).final?.status).toBe(403);
    expect(await eventOf((x) => x.data.reason === 'aor_mismatch', 'aor_mismatch')).toMatchObject({ type: 'auth_failed', deviceId: 'dev_sip_cat', data: { status: 403 } });
    expect((await stack.store.getStatus('dev_sip_cat')).lastFailure?.reason).toBe('aor_mismatch');
  });

  it('records a domain it does not serve, and a request refused before authentication, as events of no account', async () => {
    expect((await new Phone(client, 'ann', 'x').send({ domain: 'not-served.example' }))?.status).toBe(404);
    expect(await eventOf((x) => x.data.reason === 'unknown_domain', 'unknown_domain')).toMatchObject({
      type: 'rejected', accountId: null, deviceId: null, data: { status: 404, sipUser: 'ann@not-served.example', sourceIp: '127.0.0.1' },
    });
    const bad = buildRegister({ user: 'ann', callId: 'require@test', cseq: 1, transport: 'UDP', localPort: client.localPort, expires: 3600, extra: ['Require: no-such-extension'] });
    client.send(bad);
    expect((await client.next('require@test', 1))?.status).toBe(420);
    expect(await eventOf((x) => x.data.reason === 'bad_extension', 'bad_extension')).toMatchObject({ type: 'rejected', accountId: null, data: { status: 420, sipUser: `ann@${DOMAIN}` } });
  });

  it('records expired bindings when the reaper removes them', async () => {
    const phone = new Phone(client, 'ann', 'ann-secret-1');
    expect((await phone.register({ expires: 1 })).final?.status).toBe(200);
    const e = await eventOf((x) => x.type === 'expired' && x.deviceId === 'dev_sip_ann', 'the expired event');
    expect(e.data).toMatchObject({ contact: phone.contact.slice(1, -1), sourceIp: '127.0.0.1', transport: 'udp' });
    expect(e.accountId).toBe(stack.accountId); // taken from the device
  });

  it('records a digest-uri mismatch on the device it names, with its status', async () => {
    const phone = new Phone(client, 'eve', 'eve-secret-1');
    const challenge = await phone.send();
    const authorization = digestAuthorization(phone.pickChallenge(challenge!), { user: 'eve', password: 'eve-secret-1', uri: 'sip:elsewhere.example' });
    expect((await phone.send({ authorization }))?.status).toBe(400);
    expect(await eventOf((x) => x.data.reason === 'digest_uri_mismatch', 'digest_uri_mismatch')).toMatchObject({ type: 'rejected', deviceId: 'dev_sip_eve', accountId: stack.accountId, data: { status: 400 } });
    expect((await stack.store.getStatus('dev_sip_eve')).lastFailure?.reason).toBe('digest_uri_mismatch');
  });

  it('records at most a burst of a device\'s failures from requests that did not prove the password, and every outcome of one that did', async () => {
    const phone = new Phone(client, 'dan', 'dan-secret-1');
    const ok = await phone.register();
    expect(ok.final?.status).toBe(200);
    for (let i = 0; i < 20; i++) expect((await new Phone(client, 'dan', `guess-${i}`).register()).final?.status).toBe(401);
    const dans = async () => (await stack.events()).filter((e) => e.deviceId === 'dev_sip_dan');
    await until(async () => (await dans()).filter((e) => e.type === 'auth_failed').length >= 20, 3000, 'twenty failures');
    // Past the budget: a replayed Authorization is neither an event nor the lastFailure.
    await until(async () => (await stack.store.getStatus('dev_sip_dan')).lastFailure?.reason === 'wrong_password', 3000, 'lastFailure wrong_password');
    expect((await phone.send({ authorization: ok.authorization }))?.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200)); // long enough for a lastFailure write, were one made
    expect((await stack.store.getStatus('dev_sip_dan')).lastFailure?.reason).toBe('wrong_password');
    // A request that proves the password is recorded however many came before (a bad Path: 400).
    expect((await phone.register({ extra: ['Path: not a uri'] })).final?.status).toBe(400);
    await until(async () => (await dans()).some((e) => e.data.reason === 'invalid_path'), 3000, 'the invalid_path event');
    const events = await dans();
    expect(events.filter((e) => e.data.reason === 'nonce_replay')).toEqual([]);
    expect(events.filter((e) => e.data.reason === 'wrong_password')).toHaveLength(20);
    expect((await stack.store.getStatus('dev_sip_dan')).lastFailure?.reason).toBe('invalid_path');
  });

  it('counts outcomes and events in Prometheus metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text();
    expect(text).toMatch(/registrar_registrations_total\{outcome="auth_failed",reason="device_inactive"\} 1/);
    expect(text).toMatch(/registrar_registrations_total\{outcome="rejected",reason="unknown_domain"\} 1/);
    expect(text).toMatch(/registrar_binding_changes_total\{type="expired"\} [1-9]/);
    expect(text).toMatch(/registrar_events_written_total [1-9]/);
    expect(text).toMatch(/registrar_events_queued 0/);
    expect(text).toMatch(/registrar_engine_connected 1/);
    expect(text).toMatch(/registrar_credential_cache_entries [1-9]/);
    expect(text).toMatch(/registrar_registered_devices [1-9]/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
  });
});
