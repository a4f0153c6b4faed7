import { createServer, connect, Server, Socket } from 'node:net';
import { testDatabaseUrl } from '../../shared/testing/env';
import { until } from '../../shared/testing/wait';
import { freePort, Phone, SipClient, Stack, startPrivateRedis, startStack } from './support';

describe('when Redis goes down', () => {
  let stack: Stack;
  let client: SipClient;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;

  beforeAll(async () => {
    redis = await startPrivateRedis(await freePort());
    stack = await startStack({ redisUrl: `redis://127.0.0.1:${redis.port}/0`, registrar: { retryAfterS: 7 } });
    await stack.addDevice({ id: 'dev_sip_gina', username: 'gina', password: 'gina-secret-1' });
    client = await SipClient.udp(stack.udp);
  });
  afterAll(async () => {
    client.close();
    await stack.stop();
    await redis.stop();
  });

  it('answers 503 with Retry-After, stays up, and recovers without a restart', async () => {
    expect((await new Phone(client, 'gina', 'gina-secret-1').register()).final?.status).toBe(200);
    await redis.stop();
    const down = await new Phone(client, 'gina', 'gina-secret-1', { timeoutMs: 6000 }).register();
    expect(down.final?.status).toBe(503);
    // Jittered: 7 to 14 s.
    expect(Number(down.final!.get('retry-after'))).toBeGreaterThanOrEqual(7);
    expect(Number(down.final!.get('retry-after'))).toBeLessThanOrEqual(14);
    const base = `http://127.0.0.1:${stack.registrar.http.port}`;
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);

    redis = await startPrivateRedis(redis.port);
    await until(async () => (await new Phone(client, 'gina', 'gina-secret-1').register()).final?.status === 200, 8000, 'a 200 after Redis is back', 200);
    await until(async () => (await fetch(`${base}/readyz`)).status === 200, 8000, 'ready after Redis is back', 200);
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut. */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = createServer((c) => {
      const u = connect(this.target.port, this.target.host);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

describe('when PostgreSQL goes down', () => {
  let stack: Stack;
  let client: SipClient;
  let proxy: CuttableProxy;

  beforeAll(async () => {
    const pg = new URL(testDatabaseUrl());
    proxy = new CuttableProxy(await freePort(), { host: pg.hostname, port: Number(pg.port || 5432) });
    await proxy.open();
    const viaProxy = new URL(testDatabaseUrl());
    viaProxy.port = String(proxy.port);
    // TTL 0: every REGISTER of a cached device also starts a background re-read, which fails
    // during the outage without touching the answer (the waiting re-read is credential-cache.test.ts's).
    stack = await startStack({ registrar: { databaseUrl: viaProxy.toString(), credentialCacheTtlMs: 0, retryAfterS: 5 } });
    await stack.addDevice({ id: 'dev_sip_hank', username: 'hank', password: 'hank-secret-1' });
    await stack.addDevice({ id: 'dev_sip_ivy', username: 'ivy', password: 'ivy-secret-1' });
    client = await SipClient.udp(stack.udp);
  });
  afterAll(async () => {
    client.close();
    await proxy.cut();
    await stack.stop();
  });

  it('keeps registering cached devices, answers 503 + Retry-After for others, and recovers', async () => {
    expect((await new Phone(client, 'hank', 'hank-secret-1').register()).final?.status).toBe(200);
    await proxy.cut();
    // From another port: a new binding, whose `registered` event must wait for PostgreSQL.
    const second = await SipClient.udp(stack.udp);
    expect((await new Phone(second, 'hank', 'hank-secret-1', { timeoutMs: 8000 }).register()).final?.status).toBe(200);
    second.close();
    const during = await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text();
    expect(during).toMatch(/registrar_events_queued [1-9]/);
    const other = await new Phone(client, 'ivy', 'ivy-secret-1', { timeoutMs: 8000 }).register();
    expect(other.final?.status).toBe(503);
    expect(Number(other.final!.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(Number(other.final!.get('retry-after'))).toBeLessThanOrEqual(10);
    await proxy.open();
    await until(async () => (await new Phone(client, 'ivy', 'ivy-secret-1').register()).final?.status === 200, 8000, 'a 200 after PostgreSQL is back', 200);
    // The event of the registration made during the outage was kept and written once PostgreSQL was back.
    await until(async () => (await stack.events()).some((e) => e.type === 'registered' && e.deviceId === 'dev_sip_hank' && e.data.sourcePort === second.localPort), 15_000, 'the outage\'s event written');
    const metrics = await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text();
    expect(metrics).not.toMatch(/registrar_events_dropped_total\{[^}]*\} [1-9]/);
  }, 40_000);
});
