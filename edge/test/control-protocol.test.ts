import { Edge } from '../index';
import { connectApp, ControlClient, SECRET, sipRequest, sleep, testEdge, UdpClient, until } from './support';

describe('the drachtio control protocol, as drachtio-server v0.9.4 speaks it', () => {
  let edge: Edge;

  beforeAll(async () => {
    edge = await testEdge();
  });
  afterAll(async () => {
    await edge.stop();
  });

  it('authenticates, lists its transports and version, routes and answers pings', async () => {
    const c = await ControlClient.open(edge);
    try {
      const auth = await c.reply(c.send(`authenticate|${SECRET}|tag1,tag2`));
      const udp = edge.addresses.udp.port;
      expect(auth.tokens.slice(3)).toEqual(['OK', `tcp/127.0.0.1:${udp},udp/127.0.0.1:${udp}`, 'v0.9.4', `tcp/127.0.0.1:${udp},udp/127.0.0.1:${udp}`]);
      expect((await c.reply(c.send('route|register'))).tokens.slice(3)).toEqual(['OK']);
      expect((await c.reply(c.send('ping'))).tokens.slice(3)).toEqual(['OK', 'pong']);
      expect((await c.reply(c.send('remove_route|register'))).tokens.slice(3)).toEqual(['OK']);
    } finally {
      c.close();
    }
  });

  it('refuses a wrong secret with NOK and closes the connection', async () => {
    const c = await ControlClient.open(edge);
    const r = await c.reply(c.send('authenticate|not-the-secret|'));
    expect(r.tokens.slice(3)).toEqual(['NOK', 'incorrect secret']);
    await until(() => c.closed, 3000, 'close');
  });

  it('tells drachtio-srf that authentication failed', async () => {
    await expect(connectApp(edge, () => undefined, 'wrong')).rejects.toThrow(/authenticate/);
  });

  it('refuses any frame before authentication and closes', async () => {
    const c = await ControlClient.open(edge);
    const r = await c.reply(c.send('route|register'));
    expect(r.tokens[3]).toBe('NOK');
    await until(() => c.closed, 3000, 'close');
  });

  it('closes a connection whose framing is garbage', async () => {
    const c = await ControlClient.open(edge);
    c.socket.write('hello world#');
    await until(() => c.closed, 3000, 'close');
  });

  it('delivers a request with every field and acknowledges the response with what was sent', async () => {
    const c = await ControlClient.open(edge);
    const client = await UdpClient.open();
    try {
      await c.authenticate(SECRET, ['register']);
      const request = sipRequest({ port: client.port, host: '192.0.2.9' });
      client.send(edge, request);
      const sip = await c.nextSip();
      const t = sip.tokens;
      expect(t[1]).toBe('sip');
      expect(t[2]).toBe('network');
      expect(Number(t[3])).toBe(Buffer.byteLength(request, 'latin1'));
      expect(t.slice(4, 7)).toEqual(['udp', '127.0.0.1', String(client.port)]);
      expect(t[7]).toMatch(/^\d\d:\d\d:\d\d\.\d{6}$/);
      expect(t[8]).toMatch(/^[0-9a-f-]{36}$/);
      expect(t[9]).toBe('');
      expect(t.slice(10)).toEqual(['127.0.0.1', String(edge.addresses.udp.port), '']);
      expect(sip.body).toMatch(new RegExp(`^REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:${client.port};branch=z9hG4bK-\\w+;rport=${client.port};received=127.0.0.1\r\n`));

      // The app answers with lower-case names and no Via, as drachtio-srf does.
      const answer = 'SIP/2.0 401 Unauthorized\r\ncall-id: whatever\r\ncseq: 1 REGISTER\r\nfrom: x\r\nto: <sip:alice@example.com>\r\nwww-authenticate: Digest realm="example.com", nonce="n1"\r\nContent-Length: 0\r\n\r\n';
      const id = c.send(`sip|${t[8]}|\r\n${answer}`);
      const ack = await c.reply(id);
      const wire = await client.waitFor(/^SIP\/2\.0 401/);
      expect(ack.tokens.slice(3)).toEqual(['OK', 'application', String(Buffer.byteLength(wire, 'latin1')), '', '127.0.0.1', String(client.port), ack.tokens[9]!, t[8]!, '', '', 'Msg sent:', '']);
      expect(ack.body).toBe(wire);
      // Via, From, Call-ID, CSeq come from the request; standard casing; a To tag is added.
      const callId = /Call-ID: (.*)\r\n/.exec(request)![1];
      expect(wire).toContain(`\r\nCall-ID: ${callId}\r\n`);
      expect(wire).toContain('\r\nCSeq: 1 REGISTER\r\n');
      expect(wire).toContain(`\r\n${/From: .*\r\n/.exec(request)![0]}`);
      expect(wire).toMatch(/\r\nTo: <sip:alice@example.com>;tag=\w+\r\n/);
      expect(wire).toContain('\r\nWWW-Authenticate: Digest realm="example.com", nonce="n1"\r\n');
      expect(wire).not.toContain('whatever');

      // Too late: the transaction is finished.
      const late = await c.reply(c.send(`sip|${t[8]}|\r\n${answer}`));
      expect(late.tokens.slice(3)).toEqual(['NOK', 'Response not sent due to unknown transaction']);
      const unknown = await c.reply(c.send(`sip|no-such-transaction|\r\n${answer}`));
      expect(unknown.tokens.slice(3)).toEqual(['NOK', 'Response not sent due to unknown transaction']);
      await sleep(100);
      expect(client.count(/^SIP\/2\.0 401/)).toBe(1);
    } finally {
      c.close();
      client.close();
    }
  });

  it('answers NOK not supported to UAC requests, proxy and CDR routes, and unknown frames, and stays up', async () => {
    const c = await ControlClient.open(edge);
    try {
      await c.authenticate();
      const uac = await c.reply(c.send('sip||\r\nOPTIONS sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n'));
      expect(uac.tokens.slice(3)).toEqual(['NOK', 'not supported']);
      const proxy = await c.reply(c.send('proxy|abc|||||serial|||sip:x@example.com\r\nINVITE sip:x SIP/2.0\r\n\r\n'));
      expect(proxy.tokens.slice(3)).toEqual(['NOK', 'not supported']);
      const cdr = await c.reply(c.send('route|cdr:start'));
      expect(cdr.tokens.slice(3)).toEqual(['NOK', 'not supported']);
      const junk = await c.reply(c.send('frobnicate|1|2'));
      expect(junk.tokens.slice(3)).toEqual(['NOK', 'not supported']);
      expect((await c.reply(c.send('ping'))).tokens.slice(3)).toEqual(['OK', 'pong']);
    } finally {
      c.close();
    }
  });

  it('reads frames split across writes and several frames in one write, with multi-byte UTF-8', async () => {
    const c = await ControlClient.open(edge);
    try {
      await c.authenticate();
      const a = 'p1|ping';
      const b = 'p2|route|ünïcödé';
      const data = Buffer.from(`${Buffer.byteLength(a)}#${a}${Buffer.byteLength(b)}#${b}`, 'utf8');
      for (let i = 0; i < data.length; i += 3) {
        c.socket.write(data.subarray(i, i + 3));
        await sleep(2);
      }
      expect((await c.reply('p1')).tokens.slice(3)).toEqual(['OK', 'pong']);
      expect((await c.reply('p2')).tokens[3]).toBe('NOK'); // not a SIP method token
    } finally {
      c.close();
    }
  });

  it('CANCEL of a pending INVITE: 200 for the CANCEL, 487 for the INVITE, the app is told; unknown CANCEL: 481', async () => {
    const c = await ControlClient.open(edge);
    const client = await UdpClient.open();
    try {
      await c.authenticate(SECRET, ['invite']);
      const invite = sipRequest({ method: 'INVITE', port: client.port, branch: 'z9hG4bK-cancel-me' });
      client.send(edge, invite);
      await client.waitFor(/^SIP\/2\.0 100 Trying/);
      await c.nextSip();
      const cancel = invite.replace('INVITE sip:example.com', 'CANCEL sip:example.com').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL');
      client.send(edge, cancel);
      expect(await client.waitFor(/^SIP\/2\.0 200/)).toMatch(/CSeq: 1 CANCEL/);
      expect(await client.waitFor(/^SIP\/2\.0 487/)).toMatch(/CSeq: 1 INVITE/);
      expect((await c.nextSip(2)).body).toMatch(/^CANCEL /);
      client.send(edge, sipRequest({ method: 'CANCEL', port: client.port }));
      await client.waitFor(/^SIP\/2\.0 481/);
    } finally {
      c.close();
      client.close();
    }
  });
});
