import { metric, scrape, sharedEdgeWithApp, sipRequest, sleep, SrfRequest, SrfResponse, UdpClient } from './support';

describe('UDP server transactions (RFC 3261 §17.2.2)', () => {
  const held: Array<{ req: SrfRequest; res: SrfResponse }> = [];
  const shared = sharedEdgeWithApp((srf) => srf.register((req, res) => held.push({ req, res })));

  let client: UdpClient;
  /** Requests the app had seen before the test. */
  let before: number;
  beforeEach(async () => {
    client = await UdpClient.open();
    before = held.length;
  });
  afterEach(() => client.close());

  it('absorbs retransmissions before the answer and resends the final response after it', async () => {
    const edge = shared.edge;
    const request = sipRequest({ port: client.port });
    client.send(edge, request);
    await sleep(100);
    client.send(edge, request); // retransmission while the app thinks
    client.send(edge, request);
    await sleep(150);
    expect(held.length - before).toBe(1); // the app sees the request once
    expect(client.messages).toHaveLength(0); // no 100 Trying for non-INVITE
    held[held.length - 1]!.res.send(401, { headers: { 'WWW-Authenticate': 'Digest realm="example.com", nonce="abc"' } });
    const first = await client.waitFor(/^SIP\/2\.0 401/);
    client.send(edge, request); // retransmission after the final response
    const again = await client.waitFor(/^SIP\/2\.0 401/, 2);
    expect(again).toBe(first);
    await sleep(100);
    expect(held.length - before).toBe(1);
    const m = await scrape(edge);
    expect(metric(m, 'edge_sip_retransmissions_absorbed_total{transport="udp"}')).toBeGreaterThanOrEqual(2);
    expect(metric(m, 'edge_sip_messages_sent_total{transport="udp",method="REGISTER",status="401"}')).toBeGreaterThanOrEqual(2);
  });

  it('a different branch is a new transaction', async () => {
    client.send(shared.edge, sipRequest({ port: client.port, callId: 'same@test', cseq: 1 }));
    client.send(shared.edge, sipRequest({ port: client.port, callId: 'same@test', cseq: 2 }));
    await sleep(150);
    const mine = held.slice(before);
    expect(mine).toHaveLength(2);
    expect(mine.map((h) => h.req.get('CSeq')).sort()).toEqual(['1 REGISTER', '2 REGISTER']);
    for (const h of mine) h.res.send(200);
    await client.waitFor(/^SIP\/2\.0 200/, 2);
    expect(client.count(/\r\nCSeq: 1 REGISTER\r\n/)).toBe(1);
    expect(client.count(/\r\nCSeq: 2 REGISTER\r\n/)).toBe(1);
  });

  it('matches RFC 2543 requests (no magic cookie) on Call-ID, CSeq, tags and Via', async () => {
    const request = sipRequest({ port: client.port, branch: 'oldstyle1' }).replace(/;branch=oldstyle1/, '');
    client.send(shared.edge, request);
    await sleep(80);
    client.send(shared.edge, request);
    await sleep(120);
    expect(held.length - before).toBe(1);
    held[held.length - 1]!.res.send(200);
    const first = await client.waitFor(/^SIP\/2\.0 200/);
    client.send(shared.edge, request);
    // The retransmission is answered from the transaction: the same bytes, To tag included, and the app is not asked again.
    expect(await client.waitFor(/^SIP\/2\.0 200/, 2)).toBe(first);
    expect(held.length - before).toBe(1);
    // A different CSeq, or a different From tag, is a new request: the app sees each.
    client.send(shared.edge, request.replace('CSeq: 1 REGISTER', 'CSeq: 2 REGISTER'));
    await sleep(120);
    expect(held.length - before).toBe(2);
    expect(held[held.length - 1]!.req.get('CSeq')).toBe('2 REGISTER');
    client.send(shared.edge, request.replace(/(From: [^\r]*;tag=)[0-9a-f]+/, '$1other2543'));
    await sleep(120);
    expect(held.length - before).toBe(3);
    expect(held[held.length - 1]!.req.get('From')).toContain('tag=other2543');
    for (const h of held.slice(-2)) h.res.send(200);
  });
});
