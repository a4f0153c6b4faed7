import { recordRegisters, sharedEdgeWithApp, sipRequest, sleep, SrfRequest, StreamClient, testEdge, UdpClient } from './support';

describe('what the edge answers itself', () => {
  const seen: SrfRequest[] = [];
  const shared = sharedEdgeWithApp(recordRegisters(seen));

  let client: UdpClient;
  beforeEach(async () => {
    client = await UdpClient.open();
  });
  afterEach(() => client.close());

  it('503 for a method no app routed', async () => {
    client.send(shared.edge, sipRequest({ method: 'OPTIONS', port: client.port }));
    const r = await client.waitFor(/^SIP\/2\.0 503 Service Unavailable\r\n/);
    expect(r).toMatch(/\r\nTo: <sip:alice@example.com>;tag=\w+\r\n/);
    expect(r).toMatch(/\r\nCSeq: 1 OPTIONS\r\n/);
  });

  it('INVITE nobody routed: 100 Trying, then 503; retransmitted 503 stops on ACK', async () => {
    const invite = sipRequest({ method: 'INVITE', port: client.port, branch: 'z9hG4bK-inv1' });
    client.send(shared.edge, invite);
    await client.waitFor(/^SIP\/2\.0 100 Trying\r\n/);
    const final = await client.waitFor(/^SIP\/2\.0 503/);
    expect(client.messages.findIndex((m) => m.startsWith('SIP/2.0 100'))).toBeLessThan(client.messages.findIndex((m) => m.startsWith('SIP/2.0 503')));
    expect(final).not.toMatch(/^To: .*tag=.*tag=/m);
    // RFC 3261 §17.2.1 Timer G: the 503 is resent until the ACK.
    await client.waitFor(/^SIP\/2\.0 503/, 2, 1500);
    const toTag = /\r\nTo: (.*)\r\n/.exec(final)![1];
    const ack = invite.replace('INVITE sip:example.com', 'ACK sip:example.com').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/\r\nTo: .*\r\n/, `\r\nTo: ${toTag}\r\n`);
    client.send(shared.edge, ack);
    await sleep(100);
    const count = client.count(/^SIP\/2\.0 503/);
    await sleep(1200);
    expect(client.count(/^SIP\/2\.0 503/)).toBe(count);
  });

  it('REGISTER with no app connected: 503', async () => {
    const lonely = await testEdge();
    try {
      client.send(lonely, sipRequest({ port: client.port }));
      await client.waitFor(/^SIP\/2\.0 503/);
    } finally {
      await lonely.stop();
    }
  });

  it('400 with a reason for a malformed request whose Via is readable', async () => {
    const noCallId = sipRequest({ port: client.port }).replace(/Call-ID: .*\r\n/, '');
    client.send(shared.edge, noCallId);
    expect(await client.waitFor(/^SIP\/2\.0 400/)).toMatch(/^SIP\/2\.0 400 Bad Request \(missing Call-ID\)\r\n/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace('CSeq: 1 REGISTER', 'CSeq: 1 INVITE'));
    expect(await client.waitFor(/^SIP\/2\.0 400/, 2)).toMatch(/CSeq method/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace('CSeq: 1 REGISTER', 'CSeq: abc REGISTER'));
    expect(await client.waitFor(/^SIP\/2\.0 400/, 3)).toMatch(/malformed CSeq/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace('REGISTER sip:example.com SIP/2.0', 'REGISTER  sip:example.com SIP/2.0'));
    expect(await client.waitFor(/^SIP\/2\.0 400/, 4)).toMatch(/malformed request line/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace('Max-Forwards: 70', 'Max-Forwards 70'));
    expect(await client.waitFor(/^SIP\/2\.0 400/, 5)).toMatch(/malformed header line/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace('Content-Length: 0', 'Content-Length: 20'));
    expect(await client.waitFor(/^SIP\/2\.0 400/, 6)).toMatch(/body shorter than Content-Length/);
    expect(seen.filter((r) => r.source_port === client.port)).toHaveLength(0);
  });

  it('drops a malformed request without a readable Via, and answers the next good one', async () => {
    client.send(shared.edge, sipRequest({ port: client.port }).replace(/Via: .*\r\n/, ''));
    client.send(shared.edge, 'this is not SIP at all\r\n\r\n');
    client.send(shared.edge, sipRequest({ port: client.port }).replace(/Via: .*\r\n/, 'Via: garbage\r\n'));
    await sleep(200);
    expect(client.messages).toHaveLength(0);
    client.send(shared.edge, sipRequest({ port: client.port }));
    await client.waitFor(/^SIP\/2\.0 200/);
  });

  it('Contact: * with a non-zero Expires is answered 400 by the edge; with Expires: 0 it reaches the app', async () => {
    const before = seen.length;
    client.send(shared.edge, sipRequest({ port: client.port }).replace(/Contact: .*\r\n/, 'Contact: *\r\n'));
    expect(await client.waitFor(/^SIP\/2\.0 400/)).toMatch(/Contact \*/);
    client.send(shared.edge, sipRequest({ port: client.port }).replace(/Contact: .*\r\n/, 'Contact: *\r\n').replace('Expires: 3600', 'Expires: 0'));
    await client.waitFor(/^SIP\/2\.0 200/);
    expect(seen.length - before).toBe(1);
  });

  it('never answers an ACK or a response, even malformed or too large (RFC 3261 §17.2.1, §18.1.2)', async () => {
    const ack = (o: Parameters<typeof sipRequest>[0] = {}): string => sipRequest({ method: 'ACK', port: client.port, ...o });
    client.send(shared.edge, ack().replace('ACK sip:example.com', 'ACK  sip:example.com')); // malformed request line
    client.send(shared.edge, ack({ body: 'x'.repeat(20_000) })); // too large
    client.send(shared.edge, ack().replace(/Call-ID: .*\r\n/, '')); // fails the request checks
    client.send(shared.edge, sipRequest({ port: client.port }).replace('REGISTER sip:example.com SIP/2.0', 'SIP/2.0 200')); // status line without a reason phrase
    client.send(shared.edge, sipRequest({ port: client.port }).replace('REGISTER sip:example.com SIP/2.0', 'SIP/2.0 200 OK')); // a response
    // The edge reads datagrams in order and would answer those at once: once the next request is answered, none was.
    client.send(shared.edge, sipRequest({ port: client.port, cseq: 9 }));
    await client.waitFor(/^SIP\/2\.0 200/);
    expect(client.messages.map((m) => m.slice(0, m.indexOf('\r\n')))).toEqual(['SIP/2.0 200 OK']);
  });

  it('ignores CRLF keep-alive datagrams', async () => {
    client.send(shared.edge, '\r\n\r\n');
    client.send(shared.edge, '\r\n');
    await sleep(100);
    expect(client.messages).toHaveLength(0);
    client.send(shared.edge, sipRequest({ port: client.port }));
    await client.waitFor(/^SIP\/2\.0 200/);
  });

  it('513 for an oversized request', async () => {
    const big = sipRequest({ port: client.port, extra: [`X-Big: ${'a'.repeat(20_000)}`] });
    client.send(shared.edge, big);
    const r = await client.waitFor(/^SIP\/2\.0 513 Message Too Large\r\n/);
    expect(r).toContain(`\r\nCall-ID: ${/\r\nCall-ID: (.*)\r\n/.exec(big)![1]}\r\n`);
    expect(seen.filter((req) => req.source_port === client.port)).toHaveLength(0);
  });

  it('answers with the bytes it was given: invalid UTF-8 in Call-ID and From comes back unchanged', async () => {
    const tcp = await StreamClient.tcp(shared.edge);
    try {
      const weird = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xa0, 0x80]).toString('latin1');
      const request = sipRequest({ transport: 'TCP', port: tcp.localPort, callId: `x${weird}y@test` }).replace(/From: <sip:alice@example.com>/, `From: "${weird}" <sip:alice@example.com>`);
      tcp.send(request);
      const r = await tcp.waitFor(/^SIP\/2\.0 200/);
      expect(/\r\nCall-ID: (.*)\r\n/.exec(r)![1]).toBe(`x${weird}y@test`);
      expect(/\r\nFrom: (.*)\r\n/.exec(r)![1]).toBe(/\r\nFrom: (.*)\r\n/.exec(request)![1]);
      expect(/\r\nTo: (.*)\r\n/.exec(r)![1]).toMatch(/^<sip:alice@example.com>;tag=/);
    } finally {
      tcp.close();
    }
  });
});
