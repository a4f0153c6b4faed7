import { Edge } from '../index';
import { connectApp, metric, scrape, sipRequest, sleep, SrfApp, SrfRequest, SrfResponse, testEdge, UdpClient } from './support';

describe('UDP server transactions (RFC 3261 §17.2.2)', () => {
  let edge: Edge;
  let app: SrfApp;
  const held: Array<{ req: SrfRequest; res: SrfResponse }> = [];

  beforeAll(async () => {
    edge = await testEdge();
    app = await connectApp(edge, (srf) => srf.register((req, res) => held.push({ req, res })));
  });
  afterAll(async () => {
    app.disconnect();
    await edge.stop();
  });

  it('absorbs retransmissions before the answer and resends the final response after it', async () => {
    const client = await UdpClient.open();
    try {
      const before = held.length;
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
    } finally {
      client.close();
    }
  });

  it('a different branch is a new transaction', async () => {
    const client = await UdpClient.open();
    try {
      const before = held.length;
      client.send(edge, sipRequest({ port: client.port, callId: 'same@test', cseq: 1 }));
      client.send(edge, sipRequest({ port: client.port, callId: 'same@test', cseq: 2 }));
      await sleep(150);
      expect(held.length - before).toBe(2);
      for (const h of held.slice(before)) h.res.send(200);
      await client.waitFor(/^SIP\/2\.0 200/, 2);
    } finally {
      client.close();
    }
  });

  it('matches RFC 2543 requests (no magic cookie) on Call-ID, CSeq, tags and Via', async () => {
    const client = await UdpClient.open();
    try {
      const before = held.length;
      const request = sipRequest({ port: client.port, branch: 'oldstyle1' }).replace(/;branch=oldstyle1/, '');
      client.send(edge, request);
      await sleep(80);
      client.send(edge, request);
      await sleep(120);
      expect(held.length - before).toBe(1);
      held[held.length - 1]!.res.send(200);
      await client.waitFor(/^SIP\/2\.0 200/);
      client.send(edge, request);
      await client.waitFor(/^SIP\/2\.0 200/, 2);
    } finally {
      client.close();
    }
  });
});
