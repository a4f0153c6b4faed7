import { digestAuthorization, DOMAIN, Phone, SipClient, Stack, startStack } from './support';

/** RFC 3261 §10.3 over real UDP through the edge: what a phone sees on the wire. */
describe('a phone registering over UDP', () => {
  let stack: Stack;
  let client: SipClient;

  beforeAll(async () => {
    stack = await startStack();
    await stack.addDevice({ id: 'dev_sip_alice', username: 'alice', password: 'alice-secret-1' });
    await stack.addDevice({ id: 'dev_sip_bob', username: 'bob', password: 'bob-secret-1' });
    await stack.addDevice({ id: 'dev_sip_carol', username: 'carol', password: 'carol-secret-1', status: 'inactive' });
    client = await SipClient.udp(stack.udp);
  });
  afterAll(async () => {
    client.close();
    await stack.stop();
  });

  it('is challenged with SHA-256 then MD5, qop=auth, an opaque and a fresh nonce', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const res = await phone.send();
    expect(res?.status).toBe(401);
    const challenges = res!.all('www-authenticate');
    expect(challenges).toHaveLength(2);
    expect(challenges[0]).toMatch(new RegExp(`^Digest realm="${DOMAIN}", nonce="[A-Za-z0-9_-]+", opaque="[A-Za-z0-9_-]+", algorithm=SHA-256, qop="auth"$`));
    expect(challenges[1]).toMatch(/algorithm=MD5, qop="auth"$/);
  });

  it('registers with SHA-256 digest and gets 200 with its contact, its expiry and a Date', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1', { algorithm: 'SHA-256' });
    const { final } = await phone.register({ expires: 600 });
    expect(final?.status).toBe(200);
    expect(final!.get('contact')).toBe(`${phone.contact};expires=600`);
    expect(final!.get('date')).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const status = await stack.store.getStatus('dev_sip_alice');
    expect(status).toMatchObject({ registrationStatus: 'registered', ipAddress: '127.0.0.1', transport: 'udp', userAgent: 'RegistrarTest/1.0' });
  });

  it('registers with MD5 digest too', async () => {
    const phone = new Phone(client, 'bob', 'bob-secret-1', { algorithm: 'MD5' });
    const { final } = await phone.register();
    expect(final?.status).toBe(200);
    expect(final!.get('contact')).toBe(`${phone.contact};expires=3600`);
  });

  it('answers a query (no Contact) with the current bindings and changes nothing', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const before = await stack.store.listBindings('dev_sip_alice');
    const { final } = await phone.register({ contact: undefined });
    expect(final?.status).toBe(200);
    expect(final!.get('contact')).toMatch(/^<sip:alice@127\.0\.0\.1:\d+;transport=udp>;expires=(59\d|600)$/);
    expect(await stack.store.listBindings('dev_sip_alice')).toEqual(before);
  });

  it('lists several contacts of one device, each with its own expiry, exactly as sent', async () => {
    const phone = new Phone(client, 'bob', 'bob-secret-1');
    const contact = '<sip:bob@192.0.2.5:5062;transport=TCP>;expires=120, "Bob desk" <sip:bob@192.0.2.6>;+sip.instance="<urn:uuid:0000-1>";reg-id=1';
    const { final } = await phone.register({ contact, expires: 900 });
    expect(final?.status).toBe(200);
    const listed = final!.get('contact')!.split(/,\s*(?=<)/);
    expect(listed).toEqual(
      expect.arrayContaining([
        '<sip:bob@192.0.2.5:5062;transport=TCP>;expires=120',
        '<sip:bob@192.0.2.6>;+sip.instance="<urn:uuid:0000-1>";reg-id=1;expires=900',
        expect.stringMatching(/^<sip:bob@127\.0\.0\.1:\d+;transport=udp>;expires=3\d{3}$/),
      ]),
    );
  });

  it('refuses a too-short expiry with 423 and Min-Expires', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const { final } = await phone.register({ expires: 10 });
    expect(final?.status).toBe(423);
    expect(final!.get('min-expires')).toBe('60');
  });

  it('removes every binding with Contact "*" and Expires 0', async () => {
    const phone = new Phone(client, 'bob', 'bob-secret-1');
    const { final } = await phone.register({ contact: '*', expires: 0 });
    expect(final?.status).toBe(200);
    expect(final!.get('contact')).toBeUndefined();
    expect(await stack.store.listBindings('dev_sip_bob')).toEqual([]);
    expect((await stack.store.getStatus('dev_sip_bob')).registrationStatus).toBe('unregistered');
  });

  it('unregisters one contact with expires=0', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const { final } = await phone.register({ expires: 0 });
    expect(final?.status).toBe(200);
    expect(await stack.store.listBindings('dev_sip_alice')).toEqual([]);
  });

  it('refuses an out-of-order CSeq on the same Call-ID without changing anything (RFC 3261 §10.3 step 7)', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    phone.cseq = 10;
    expect((await phone.register()).final?.status).toBe(200);
    const before = await stack.store.listBindings('dev_sip_alice');
    phone.cseq = 3;
    const { final } = await phone.register({ expires: 1200 });
    expect(final?.status).toBe(400);
    expect(await stack.store.listBindings('dev_sip_alice')).toEqual(before);
  });

  it('forbids an inactive device after authenticating it (403)', async () => {
    const phone = new Phone(client, 'carol', 'carol-secret-1');
    const { challenge, final } = await phone.register();
    expect(challenge?.status).toBe(401);
    expect(final?.status).toBe(403);
  });

  it('forbids a device to register another device\'s AOR (403)', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1', { toUser: 'bob' });
    const alice = await stack.store.listBindings('dev_sip_alice');
    const bob = await stack.store.listBindings('dev_sip_bob');
    const { final } = await phone.register();
    expect(final?.status).toBe(403);
    // Nothing written, under either device (bindings would be stored under the authenticated one).
    expect(await stack.store.listBindings('dev_sip_alice')).toEqual(alice);
    expect(await stack.store.listBindings('dev_sip_bob')).toEqual(bob);
  });

  it('answers 404 for a domain it does not serve, without a challenge', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const res = await phone.send({ domain: 'elsewhere.example' });
    expect(res?.status).toBe(404);
    expect(res!.get('www-authenticate')).toBeUndefined();
  });

  it('rejects a Require option it does not support with 420 and Unsupported', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const res = await phone.send({ extra: ['Require: path, 100rel'] });
    expect(res?.status).toBe(420);
    expect(res!.get('unsupported')).toBe('100rel');
  });

  it('stores Path with the binding and echoes it in the 200 only to a UA that supports path (RFC 3327 §5.3)', async () => {
    const path = '<sip:proxy1.example.net;lr>, "edge" <sip:proxy2.example.net:5070;lr;transport=tcp>';
    const phone = new Phone(client, 'bob', 'bob-secret-1');
    const { final } = await phone.register({ extra: [`Path: ${path}`, 'Supported: path'] });
    expect(final?.status).toBe(200);
    expect(final!.get('path')).toBe(path);
    const [binding] = await stack.store.listBindings('dev_sip_bob');
    expect(binding!.path).toEqual(['<sip:proxy1.example.net;lr>', '"edge" <sip:proxy2.example.net:5070;lr;transport=tcp>']);
    const again = await phone.register({ extra: [`Path: ${path}`] });
    expect(again.final?.status).toBe(200);
    expect(again.final!.get('path')).toBeUndefined();
  });

  it('refuses a Path that is not a list of SIP URIs in angle brackets with 400, changing nothing', async () => {
    const phone = new Phone(client, 'bob', 'bob-secret-1');
    expect((await phone.register()).final?.status).toBe(200);
    const before = await stack.store.listBindings('dev_sip_bob');
    for (const bad of ['not a uri, 12345', 'sip:proxy1.example.net;lr', '<mailto:a@example.net>']) {
      const { final } = await phone.register({ extra: [`Path: ${bad}`, 'Supported: path'], expires: 1800 });
      expect(final?.status).toBe(400);
    }
    expect(await stack.store.listBindings('dev_sip_bob')).toEqual(before);
  });

  it('does not accept qop=auth without a cnonce (RFC 7616 §3.4), even with the response computed over an empty one', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    const challenge = await phone.send();
    expect(challenge?.status).toBe(401);
    const authorization = digestAuthorization(phone.pickChallenge(challenge!), { user: 'alice', password: 'alice-secret-1', uri: `sip:${DOMAIN}`, cnonce: '' }).replace(', cnonce=""', '');
    expect(authorization).not.toContain('cnonce');
    const final = await phone.send({ authorization });
    expect(final?.status).toBe(401);
  });

  it('answers OPTIONS keep-alives with 200 and Allow', async () => {
    client.send(
      ['OPTIONS sip:' + DOMAIN + ' SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${client.localPort};branch=z9hG4bKopt1;rport`, 'Max-Forwards: 70',
        `From: <sip:alice@${DOMAIN}>;tag=o1`, `To: <sip:${DOMAIN}>`, 'Call-ID: options-1@test', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
    );
    const res = await client.next('options-1@test', 1);
    expect(res?.status).toBe(200);
    expect(res!.get('allow')).toBe('REGISTER, OPTIONS');
  });

  it('gives known scanners nothing at all', async () => {
    const phone = new Phone(client, 'alice', 'alice-secret-1');
    expect(await phone.send({ userAgent: 'friendly-scanner' }, 600)).toBeNull();
  });
});
