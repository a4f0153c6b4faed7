import { inProcessEngine } from '../in-process-engine';
import type { InProcessSocket } from '../socket-pair';
import { until } from '../../shared/testing/wait';
import { Phone, SipClient, Stack, startStack } from '../../registrar/test/support';

/**
 * The registrar connected to the edge in the same process (what embedded/main.ts runs): real
 * SIP over UDP and TCP, real PostgreSQL and Redis; only the engine connection is in memory.
 */
describe('edge and registrar in one process', () => {
  let stack: Stack;
  const streams: InProcessSocket[] = [];

  beforeAll(async () => {
    stack = await startStack({
      engine: (edge, secret) => {
        const engine = inProcessEngine(edge, secret);
        const create = engine.createSocket!;
        return { ...engine, createSocket: () => { const s = create() as InProcessSocket; streams.push(s); return s; } };
      },
    });
    await stack.addDevice({ id: 'dev_sip_emb1', username: 'emb1', password: 'emb1-secret' });
    await stack.addDevice({ id: 'dev_sip_emb2', username: 'emb2', password: 'emb2-secret' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('registers over UDP and TCP, and the binding is in Redis', async () => {
    const udp = await SipClient.udp(stack.udp);
    const tcp = await SipClient.tcp(stack.tcp);
    try {
      const p1 = new Phone(udp, 'emb1', 'emb1-secret');
      const r1 = await p1.register({ expires: 600 });
      expect(r1.challenge?.status).toBe(401);
      expect(r1.final?.status).toBe(200);
      expect(r1.final!.get('contact')).toBe(`${p1.contact};expires=600`);
      const p2 = new Phone(tcp, 'emb2', 'emb2-secret');
      expect((await p2.register()).final?.status).toBe(200);
      expect(await stack.store.getStatus('dev_sip_emb1')).toMatchObject({ registrationStatus: 'registered', transport: 'udp' });
      expect(await stack.store.getStatus('dev_sip_emb2')).toMatchObject({ registrationStatus: 'registered', transport: 'tcp' });
      // A wrong password is still refused (the digest check runs as over TCP).
      expect((await new Phone(udp, 'emb1', 'not-the-secret').register()).final?.status).toBe(401);
    } finally {
      udp.close();
      tcp.close();
    }
  });

  it('reconnects through a new stream when the in-memory connection is lost', async () => {
    expect(streams).toHaveLength(1);
    streams[0]!.destroy();
    await until(() => streams.length === 2 && stack.registrar.engineConnected, 5000);
    const udp = await SipClient.udp(stack.udp);
    try {
      expect((await new Phone(udp, 'emb1', 'emb1-secret').register()).final?.status).toBe(200);
    } finally {
      udp.close();
    }
  });
});
