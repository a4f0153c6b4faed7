import { Edge } from '../index';
import { connectApp, metric, scrape, sipRequest, sleep, SrfApp, SrfRequest, SrfResponse, testEdge, UdpClient, until, waitForApps } from './support';

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

  it('an app that disconnects mid-transaction loses it; the retransmission reaches the other app', async () => {
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
      a.disconnect();
      await waitForApps(edge, 1);
      await sleep(100);
      client.send(edge, request); // the client retransmits: now a new transaction, for app B
      await until(() => gotB.length, 2000, 'request at app B');
      expect(gotB[0]!.req.get('Call-ID')).toBe(/Call-ID: (.*)\r\n/.exec(request)![1]);
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
