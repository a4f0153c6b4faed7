import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { DevicesRepo } from '../../api/devices-repo';
import { announceAuthChange } from '../../api/live';
import { CredentialCipher } from '../../shared/credentials';
import { until } from '../../shared/testing/wait';
import { buildRegister, digestAuthorization, DOMAIN, md5, Phone, sha256, SipClient, Stack, startStack } from './support';

/** A 401's challenges with the nonce blanked: what must not differ between an unknown user and a wrong password. */
const challengeShape = (r: Awaited<ReturnType<Phone['register']>>): string[] => r.final!.all('www-authenticate').map((c) => c.replace(/nonce="[^"]+"/, 'nonce=""'));

/** Digest replay, stale nonces, brute force and password resets, asserted on the wire. */
describe('registrar security', () => {
  let stack: Stack;
  let client: SipClient;
  let offsetMs = 0;

  beforeAll(async () => {
    stack = await startStack({
      registrar: {
        now: () => Date.now() + offsetMs,
        blockSourceThreshold: 4,
        blockUserThreshold: 1000,
        blockWindowS: 60,
        blockDurationS: 60,
        credentialCacheTtlMs: 60_000,
      },
    });
    await stack.addDevice({ id: 'dev_sip_dave', username: 'dave', password: 'dave-secret-1' });
    await stack.addDevice({ id: 'dev_sip_erin', username: 'erin', password: 'erin-old-pass' });
    await stack.addDevice({ id: 'dev_sip_frank', username: 'frank', password: 'frank-old-pass' });
    client = await SipClient.udp(stack.udp);
  });
  afterAll(async () => {
    client.close();
    await stack.stop();
  });

  it('rejects a replayed Authorization (same nonce and nonce-count) with a new challenge', async () => {
    const phone = new Phone(client, 'dave', 'dave-secret-1');
    const { final, authorization } = await phone.register();
    expect(final?.status).toBe(200);
    const replay = await phone.send({ authorization });
    expect(replay?.status).toBe(401);
    // The same nonce with a higher nonce-count is a legitimate reuse (RFC 7616 §3.4).
    const next = digestAuthorization(phone.lastChallenge!, { user: 'dave', password: 'dave-secret-1', uri: `sip:${DOMAIN}`, nc: 2 });
    expect((await phone.send({ authorization: next }))?.status).toBe(200);
  });

  it('re-challenges a correct answer to an expired nonce with stale=true', async () => {
    const phone = new Phone(client, 'dave', 'dave-secret-1');
    const challenge = await phone.send();
    expect(challenge?.status).toBe(401);
    const auth = digestAuthorization(phone.pickChallenge(challenge!), { user: 'dave', password: 'dave-secret-1', uri: `sip:${DOMAIN}` });
    offsetMs += 301_000; // nonce lifetime is 300 s
    try {
      const res = await phone.send({ authorization: auth });
      expect(res?.status).toBe(401);
      expect(res!.all('www-authenticate').every((c) => c.endsWith(', stale=true'))).toBe(true);
      // And the fresh nonce works at once.
      const fresh = digestAuthorization(phone.pickChallenge(res!), { user: 'dave', password: 'dave-secret-1', uri: `sip:${DOMAIN}` });
      expect((await phone.send({ authorization: fresh }))?.status).toBe(200);
    } finally {
      offsetMs -= 301_000;
    }
  });

  it('refuses an Authorization whose uri is not the Request-URI (400)', async () => {
    const phone = new Phone(client, 'dave', 'dave-secret-1');
    const challenge = await phone.send();
    const auth = digestAuthorization(phone.pickChallenge(challenge!), { user: 'dave', password: 'dave-secret-1', uri: 'sip:other.example' });
    expect((await phone.send({ authorization: auth }))?.status).toBe(400);
  });

  it('answers an unknown user exactly like a wrong password: 401 with a fresh challenge', async () => {
    const wrong = await new Phone(client, 'dave', 'not-the-password').register();
    const unknown = await new Phone(client, 'nobody', 'whatever').register();
    expect(wrong.final?.status).toBe(401);
    expect(unknown.final?.status).toBe(401);
    expect(challengeShape(unknown)).toEqual(challengeShape(wrong));
    await stack.redis.del(`${stack.prefix}{sb}fail:src:127.0.0.1`);
  });

  it('accepts old and new passwords during a reset grace period, then only the new one', async () => {
    expect((await new Phone(client, 'erin', 'erin-old-pass').register()).final?.status).toBe(200);
    const realm = DOMAIN;
    await stack.db.pool.query(
      `UPDATE devices SET prev_ha1_md5 = ha1_md5, prev_ha1_sha256 = ha1_sha256, prev_expires_at = now() + interval '1 hour',
              ha1_md5 = $1, ha1_sha256 = $2 WHERE id = 'dev_sip_erin'`,
      [md5(`erin:${realm}:erin-new-pass`), sha256(`erin:${realm}:erin-new-pass`)],
    );
    await stack.store.publishInvalidation({ deviceId: 'dev_sip_erin', sipUsername: 'erin', sipDomain: DOMAIN });
    await new Promise((r) => setTimeout(r, 100));
    expect((await new Phone(client, 'erin', 'erin-old-pass').register()).final?.status).toBe(200);
    expect((await new Phone(client, 'erin', 'erin-new-pass').register()).final?.status).toBe(200);
    // Grace over.
    await stack.db.pool.query(`UPDATE devices SET prev_expires_at = now() - interval '1 second' WHERE id = 'dev_sip_erin'`);
    await stack.store.publishInvalidation({ deviceId: 'dev_sip_erin', sipUsername: 'erin', sipDomain: DOMAIN });
    await new Promise((r) => setTimeout(r, 100));
    expect((await new Phone(client, 'erin', 'erin-old-pass').register()).final?.status).toBe(401);
    expect((await new Phone(client, 'erin', 'erin-new-pass').register()).final?.status).toBe(200);
    await stack.redis.del(`${stack.prefix}{sb}fail:src:127.0.0.1`);
  });

  it('after a reset without grace, the old password stops working at once and the bindings are gone', async () => {
    expect((await new Phone(client, 'frank', 'frank-old-pass').register()).final?.status).toBe(200);
    await stack.db.pool.query('UPDATE devices SET ha1_md5 = $1, ha1_sha256 = $2 WHERE id = $3', [
      md5(`frank:${DOMAIN}:frank-new-pass`), sha256(`frank:${DOMAIN}:frank-new-pass`), 'dev_sip_frank',
    ]);
    // What the API does on a reset without grace: drop the bindings, tell the registrars.
    await stack.store.removeBindings('dev_sip_frank');
    await stack.store.publishInvalidation({ deviceId: 'dev_sip_frank', sipUsername: 'frank', sipDomain: DOMAIN });
    await new Promise((r) => setTimeout(r, 100));
    expect((await stack.store.getStatus('dev_sip_frank')).registrationStatus).toBe('unregistered');
    expect((await new Phone(client, 'frank', 'frank-old-pass').register()).final?.status).toBe(401);
    expect((await new Phone(client, 'frank', 'frank-new-pass').register()).final?.status).toBe(200);
    await stack.redis.del(`${stack.prefix}{sb}fail:src:127.0.0.1`);
  });

  it('answers a deleted device that proves its old password 403 without counting a failure; a wrong password stays a counted 401', async () => {
    await stack.addDevice({ id: 'dev_sip_gina', username: 'gina', password: 'gina-secret-1' });
    // Its own address, so the failure counters read here are this test's alone.
    const natted = await SipClient.udp(stack.udp, '127.0.0.5');
    const failSrc = `${stack.prefix}{sb}fail:src:127.0.0.5`;
    const failUser = `${stack.prefix}{sb}fail:user:gina@${DOMAIN}`;
    try {
      expect((await new Phone(natted, 'gina', 'gina-secret-1').register()).final?.status).toBe(200);
      expect((await stack.store.getStatus('dev_sip_gina')).registrationStatus).toBe('registered');

      // Exactly what the API's DELETE does: tombstone and row delete in one statement, live state forgotten, registrars told.
      const repo = new DevicesRepo(stack.db.pool, new CredentialCipher(new Map([['t1', randomBytes(32)]]), 't1'));
      expect(await repo.delete(stack.accountId, 'dev_sip_gina')).toEqual({ sipUsername: 'gina', sipDomain: DOMAIN });
      await announceAuthChange(stack.store, pino({ level: 'silent' }), {
        invalidation: { deviceId: 'dev_sip_gina', sipUsername: 'gina', sipDomain: DOMAIN },
        forget: true,
      });
      await new Promise((r) => setTimeout(r, 100));
      const liveKeys = [stack.store.keys.status('dev_sip_gina'), stack.store.keys.bindings('dev_sip_gina')];
      expect(await stack.redis.exists(...liveKeys)).toBe(0);

      // More attempts than the source threshold (4), both algorithms: each one 403 with no new challenge, none counted.
      // (The credential cache TTL is 60 s here: only the invalidation can have made the 403 apply at once.)
      for (const algorithm of ['SHA-256', 'MD5', 'SHA-256', 'MD5', 'SHA-256'] as const) {
        const { challenge, final } = await new Phone(natted, 'gina', 'gina-secret-1', { algorithm }).register();
        expect(challenge?.status).toBe(401);
        expect(final?.status).toBe(403);
        expect(final!.all('www-authenticate')).toEqual([]);
      }
      expect(await stack.redis.exists(failSrc, failUser)).toBe(0);
      expect(await stack.redis.zscore(`${stack.prefix}{sb}blocks`, '127.0.0.5')).toBeNull();
      expect(await stack.redis.exists(...liveKeys)).toBe(0);
      const ginas = async () => (await stack.events()).filter((e) => e.deviceId === 'dev_sip_gina' && e.type !== 'registered');
      await until(async () => (await ginas()).length >= 5, 2000, "the deleted device's events");
      const gina = await ginas();
      expect(gina).toHaveLength(5);
      // On the deleted device, in its account: an authorisation failure, never counted for blocking.
      expect(gina.every((e) => e.type === 'auth_failed' && e.data.reason === 'deleted_device_password' && e.data.status === 403 && e.data.sourceIp === '127.0.0.5' && e.accountId === stack.accountId)).toBe(true);

      // Not proving the old password: exactly what an unknown user gets (401, fresh challenge), and counted.
      const wrong = await new Phone(natted, 'gina', 'not-ginas-password').register();
      const unknown = await new Phone(natted, 'nobody-at-all', 'whatever').register();
      expect(wrong.final?.status).toBe(401);
      expect(unknown.final?.status).toBe(401);
        expect(challengeShape(wrong)).toEqual(challengeShape(unknown));
      expect(await stack.redis.get(failSrc)).toBe('2');
      expect(await stack.redis.get(failUser)).toBe('1');
    } finally {
      natted.close();
      await stack.redis.del(failSrc, failUser);
    }
  });

  it('blocks a source guessing passwords while another address still registers', async () => {
    const attacker = await SipClient.udp(stack.udp, '127.0.0.3');
    try {
      const answers: (number | null)[] = [];
      for (let i = 0; i < 6; i++) answers.push((await new Phone(attacker, 'dave', `guess-${i}`, { timeoutMs: 600 }).register()).final?.status ?? null);
      // Three failures are answered 401, the fourth blocks the source: from then on, nothing.
      expect(answers.slice(0, 3)).toEqual([401, 401, 401]);
      expect(answers.slice(3)).toEqual([null, null, null]);
      // Even the right password from the blocked source gets nothing.
      expect((await new Phone(attacker, 'dave', 'dave-secret-1').send({}, 500))).toBeNull();
      // Nor anything else it sends: no 404 for a domain not served, no 420 for an unknown extension.
      expect(await new Phone(attacker, 'dave', 'x').send({ domain: 'unserved.example' }, 500)).toBeNull();
      const require420 = buildRegister({ user: 'dave', callId: 'blocked-420@test', cseq: 1, transport: 'UDP', localPort: attacker.localPort, expires: 3600 });
      attacker.send(require420.replace('Max-Forwards: 70\r\n', 'Max-Forwards: 70\r\nRequire: no-such-extension\r\n'));
      expect(await attacker.next('blocked-420@test', 1, 500)).toBeNull();
      // The real phone, from its own address, is not affected.
      expect((await new Phone(client, 'dave', 'dave-secret-1').register()).final?.status).toBe(200);
      const blocks = await stack.redis.zrange(`${stack.prefix}{sb}blocks`, 0, -1);
      expect(blocks).toEqual(['127.0.0.3']);
      // The registered event follows the 200 (written in the background, not before the answer).
      const eventTypes = async () => (await stack.events()).filter((e) => e.deviceId === 'dev_sip_dave').map((e) => e.type);
      await until(async () => (await eventTypes()).includes('registered'), 2000, 'the registered event');
      expect(await eventTypes()).toEqual(expect.arrayContaining(['auth_failed', 'blocked', 'registered']));
    } finally {
      attacker.close();
    }
  });

  it('drops a request whose echoed headers would make a response frame too big for drachtio-server, and keeps serving', async () => {
    const phone = new Phone(client, 'dave', 'dave-secret-1');
    const big = 'x'.repeat(6_600);
    const text = buildRegister({ user: 'dave', callId: 'big-1@test', cseq: 1, transport: 'UDP', localPort: client.localPort, contact: phone.contact, expires: 3600 })
      .replace(/^From: <([^>]+)>;tag=\w+/m, `From: <$1>;tag=${big}`)
      .replace(/^To: </m, `To: "${big}" <`);
    const tcp = await SipClient.tcp(stack.tcp);
    try {
      tcp.send(text.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
      expect(await tcp.next('big-1@test', 1, 800)).toBeNull();
    } finally {
      tcp.close();
    }
    expect((await phone.register()).final?.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text();
    expect(metrics).toMatch(/registrar_sip_dropped_total\{reason="oversized_response"\} 1/);
  });
});
