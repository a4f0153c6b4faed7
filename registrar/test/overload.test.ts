import { jitteredRetryAfter } from '../errors';
import { insertDevices, Phone, SipClient, Stack, startStack } from './support';

describe('Retry-After jitter', () => {
  it('draws evenly from [base, 2 × base]', () => {
    expect(jitteredRetryAfter(10, () => 0)).toBe(10);
    expect(jitteredRetryAfter(10, () => 0.999999)).toBe(20);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = jitteredRetryAfter(5);
      expect(v).toBeGreaterThanOrEqual(5);
      expect(v).toBeLessThanOrEqual(10);
      seen.add(v);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
  });
});

describe('load shedding', () => {
  let stack: Stack;
  const clients: SipClient[] = [];
  beforeAll(async () => {
    stack = await startStack({ registrar: { maxInFlight: 4, retryAfterS: 3 } });
    await insertDevices(stack, 'o', 300);
    for (let i = 0; i < 4; i++) clients.push(await SipClient.udp(stack.udp));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await stack.stop();
  });

  it('answers what it cannot take now 503 with a jittered Retry-After, and serves again after', async () => {
    // 300 phones at once: far more than 4 in flight.
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => new Phone(clients[i % 4]!, `o${i}`, `pw-${i}`, { timeoutMs: 3000 }).register({ contact: `<sip:o${i}@127.0.0.1:${9200 + i}>` })),
    );
    const finals = results.map((r) => r.final);
    const shed = finals.filter((f) => f?.status === 503);
    const ok = finals.filter((f) => f?.status === 200);
    expect(shed.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThan(0);
    expect(finals.every((f) => f !== null && (f.status === 200 || f.status === 503))).toBe(true);
    const retryAfter = new Set(shed.map((f) => Number(f!.get('retry-after'))));
    for (const v of retryAfter) expect(v >= 3 && v <= 6).toBe(true);
    expect(retryAfter.size).toBeGreaterThan(1);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text();
    expect(Number(/^registrar_shed_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    // Shed phones, retrying one at a time, all register.
    for (let i = 0; i < 300; i++) {
      if (finals[i]?.status === 200) continue;
      expect((await new Phone(clients[0]!, `o${i}`, `pw-${i}`).register({ contact: `<sip:o${i}@127.0.0.1:${9200 + i}>` })).final?.status).toBe(200);
    }
  });
});
