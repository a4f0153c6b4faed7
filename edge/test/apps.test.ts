import { Edge } from '../index';
import { connectApp, ControlClient, metric, scrape, SECRET, sipRequest, sleep, SrfApp, SrfRequest, SrfResponse, StreamClient, testEdge, UdpClient, until, waitForApps } from './support';

/** `n` apps that answer every REGISTER 200; `counts[i]` is how many app i answered. */
async function countingApps(edge: Edge, n: number): Promise<{ apps: SrfApp[]; counts: number[] }> {
  const counts = new Array<number>(n).fill(0);
  const apps = await Promise.all(
    counts.map((_, i) =>
      connectApp(edge, (srf) =>
        srf.register((_req, res) => {
          counts[i]!++;
          res.send(200);
        }),
      ),
    ),
  );
  return { apps, counts };
}

describe('several apps on one edge', () => {
  let edge: Edge;
  beforeEach(async () => {
    edge = await testEdge();
  });
  afterEach(async () => {
    await edge.stop();
  });

  it('two apps share REGISTERs round robin', async () => {
    const { apps, counts } = await countingApps(edge, 2);
    const client = await UdpClient.open();
    try {
      expect(metric(await scrape(edge), 'edge_control_apps_connected')).toBe(2);
      for (let i = 0; i < 10; i++) client.send(edge, sipRequest({ port: client.port }));
      await client.waitFor(/^SIP\/2\.0 200/, 10);
      expect(counts).toEqual([5, 5]);
    } finally {
      client.close();
      for (const a of apps) a.disconnect();
    }
  });

  it('an app that disconnects mid-transaction: the client gets 503 with Retry-After, later requests reach the other app', async () => {
    const gotA: SrfRequest[] = [];
    const gotB: Array<{ req: SrfRequest; res: SrfResponse }> = [];
    const a = await connectApp(edge, (srf) => srf.register((req) => gotA.push(req))); // never answers
    const client = await UdpClient.open();
    let b: SrfApp | undefined;
    try {
      const request = sipRequest({ port: client.port });
      client.send(edge, request);
      await until(() => gotA.length, 2000, 'request at app A');
      b = await connectApp(edge, (srf) => srf.register((req, res) => gotB.push({ req, res })));
      client.send(edge, request); // absorbed: app A still holds the transaction
      await sleep(100);
      expect(gotB).toHaveLength(0);
      expect(client.messages).toHaveLength(0);
      a.disconnect();
      // RFC 3261 §21.5.4: the transaction app A held is answered, not forgotten.
      expect(await client.waitFor(/^SIP\/2\.0 503 Service Unavailable\r\n/)).toMatch(/\r\nRetry-After: \d+\r\n/);
      client.send(edge, request); // a retransmission gets the same 503 again (Timer J)
      await client.waitFor(/^SIP\/2\.0 503/, 2);
      expect(gotB).toHaveLength(0);
      client.send(edge, sipRequest({ port: client.port })); // a new request goes to app B
      await until(() => gotB.length, 2000, 'request at app B');
      gotB[0]!.res.send(200);
      await client.waitFor(/^SIP\/2\.0 200/);
      expect(gotA).toHaveLength(1);
    } finally {
      client.close();
      b?.disconnect();
    }
  });

  it('new requests go to the remaining app after one disconnects', async () => {
    const { apps, counts } = await countingApps(edge, 2);
    const client = await UdpClient.open();
    try {
      apps[0]!.disconnect();
      await waitForApps(edge, 1);
      for (let i = 0; i < 4; i++) client.send(edge, sipRequest({ port: client.port }));
      await client.waitFor(/^SIP\/2\.0 200/, 4);
      expect(counts).toEqual([0, 4]);
    } finally {
      client.close();
      apps[1]!.disconnect();
    }
  });
});

describe('an app that goes away', () => {
  let edge: Edge;
  afterEach(async () => {
    await edge.stop();
  });

  it('a REGISTER over TCP held by an app that disconnects is answered 503 with Retry-After', async () => {
    edge = await testEdge();
    const app = await ControlClient.open(edge);
    const tcp = await StreamClient.tcp(edge);
    try {
      await app.authenticate(SECRET, ['register']);
      tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }));
      await app.nextSip();
      app.close();
      const r = await tcp.waitFor(/^SIP\/2\.0 503 Service Unavailable\r\n/);
      expect(r).toMatch(/\r\nRetry-After: \d+\r\n/);
      expect(r).toMatch(/\r\nCSeq: 1 REGISTER\r\n/);
      expect(r).toMatch(/\r\nTo: <sip:alice@example.com>;tag=\w+\r\n/);
    } finally {
      tcp.close();
    }
  });

  it('an INVITE over UDP already answered 100 Trying is answered 503 when its app disconnects; the ACK stops the retransmissions', async () => {
    edge = await testEdge();
    const app = await ControlClient.open(edge);
    const client = await UdpClient.open();
    try {
      await app.authenticate(SECRET, ['invite']);
      const invite = sipRequest({ method: 'INVITE', port: client.port });
      client.send(edge, invite);
      await client.waitFor(/^SIP\/2\.0 100 Trying\r\n/);
      await app.nextSip();
      app.close();
      const r = await client.waitFor(/^SIP\/2\.0 503 Service Unavailable\r\n/);
      expect(r).toMatch(/\r\nRetry-After: \d+\r\n/);
      expect(r).toMatch(/\r\nCSeq: 1 INVITE\r\n/);
      const toTag = /\r\nTo: (.*)\r\n/.exec(r)![1];
      const ack = invite.replace('INVITE sip:example.com', 'ACK sip:example.com').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace(/\r\nTo: .*\r\n/, `\r\nTo: ${toTag}\r\n`);
      client.send(edge, ack);
      await until(async () => metric(await scrape(edge), 'edge_sip_retransmissions_absorbed_total{transport="udp"}') >= 1, 2000, 'ACK absorbed');
      // Timer G would resend the 503 after 500 ms, then 1 s later (RFC 3261 §17.2.1): after the ACK, nothing comes.
      const answers = client.messages.length;
      await sleep(1600);
      expect(client.messages.length).toBe(answers);
    } finally {
      client.close();
    }
  });

  it('drops an app that stops reading its control connection; what it held is answered 503', async () => {
    edge = await testEdge({ limits: { maxControlBacklogBytes: 256 * 1024 } });
    const app = await ControlClient.open(edge);
    const tcp = await StreamClient.tcp(edge);
    try {
      await app.authenticate(SECRET, ['register']);
      app.socket.pause(); // authenticated and routed, then never reads again
      const body = 'p'.repeat(14_000);
      let sent = 0;
      // Each request is a ~14 KB frame queued for the app; kernel buffers take some MB first.
      for (let batch = 0; batch < 100 && metric(await scrape(edge), 'edge_control_apps_connected') === 1; batch++) {
        let chunk = '';
        for (let i = 0; i < 50; i++, sent++) chunk += sipRequest({ transport: 'TCP', port: tcp.localPort, body });
        tcp.send(chunk);
        await sleep(20);
      }
      await waitForApps(edge, 0);
      // Every request is answered: 503 from the app-gone path, or (sent after it) because no app routes REGISTER.
      await tcp.waitFor(/^SIP\/2\.0 503/, sent, 10_000);
      expect(tcp.count(/^SIP\/2\.0 503/)).toBe(sent);
    } finally {
      tcp.close();
      app.close();
    }
  });
});
