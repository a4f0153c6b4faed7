import { Harness, startHarness } from '../../api/test/helpers/harness';
import { startRedisCluster, TestRedisCluster } from '../../shared/testing/redis-cluster';
import { sleep, until } from '../../shared/testing/wait';
import { DOMAIN, digestAuthorization, Phone, SipClient, Stack, startStack } from './support';

// The registrar and the API against a real Redis Cluster (3 masters, 3 replicas, on loopback):
// every flow that touches Redis, then a master killed and the stack carrying on.

let cluster: TestRedisCluster;
let stack: Stack;
let h: Harness;
let client: SipClient;
const accountPath = (): string => `/v2/accounts/${stack.accountId}`;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  stack = await startStack({
    redisClusterNodes: cluster.nodes,
    registrar: { reaperIntervalMs: 200, minExpires: 1, blockSourceThreshold: 3, blockUserThreshold: 1000, blockWindowS: 60, blockDurationS: 60 },
  });
  h = await startHarness({}, { shared: { db: stack.db, prefix: stack.prefix }, redisClusterNodes: cluster.nodes });
  client = await SipClient.udp(stack.udp);
}, 60_000);

afterAll(async () => {
  client?.close();
  await h?.close();
  await stack?.stop();
  await cluster?.stop();
});

/** A device through the API and a phone holding its password. */
async function provision(sipUsername: string): Promise<{ deviceId: string; phone: Phone }> {
  const r = await h.req('POST', `${accountPath()}/devices/sip`, { body: { name: `Phone ${sipUsername}`, sipUsername } });
  expect(r.status).toBe(201);
  return { deviceId: r.body.id, phone: new Phone(client, sipUsername, r.body.credentials.sipPassword) };
}

const status = async (deviceId: string) => (await h.req('GET', `${accountPath()}/devices/sip/${deviceId}`)).body;
const bindings = async (deviceId: string) => (await h.req('GET', `${accountPath()}/devices/sip/${deviceId}/registrations`)).body.data as { contact: string }[];
const contactOf = (user: string, port: number, extra = ''): string => `<sip:${user}@127.0.0.1:${port}>${extra}`;

describe('on a Redis Cluster', () => {
  it('spreads the stack\'s keys over several masters (the test means something)', async () => {
    const owners = new Set<number>();
    for (let i = 0; i < 20; i++) owners.add(await cluster.masterOf(`${stack.prefix}{dev_${i}}:b`));
    expect(owners.size).toBeGreaterThan(1);
  });

  it('registers, refreshes, answers a query, and the API shows the live status', async () => {
    const { deviceId, phone } = await provision('c1');
    expect((await phone.register({ contact: contactOf('c1', 5071) })).final?.status).toBe(200);
    expect((await phone.register({ contact: contactOf('c1', 5071) })).final?.status).toBe(200);
    const query = await phone.register();
    expect(query.final?.status).toBe(200);
    expect(query.final?.all('contact').join(',')).toContain('127.0.0.1:5071');
    const d = await status(deviceId);
    expect([d.registrationStatus, d.ipAddress]).toEqual(['registered', '127.0.0.1']);
    // The list reads many devices' status, each from its own slot.
    const list = await h.req('GET', `${accountPath()}/devices/sip`);
    expect(list.body.data.find((x: { id: string }) => x.id === deviceId).registrationStatus).toBe('registered');
  });

  it('removes every binding with Contact: *, and replaces an RFC 5626 flow by instance and reg-id', async () => {
    const { deviceId, phone } = await provision('c2');
    const outbound = (port: number) => contactOf('c2', port, ';+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000000002>";reg-id=1');
    expect((await phone.register({ contact: outbound(5072) })).final?.status).toBe(200);
    expect((await phone.register({ contact: outbound(5073) })).final?.status).toBe(200);
    const live = await bindings(deviceId);
    expect(live.map((b) => b.contact)).toEqual([expect.stringContaining(':5073')]);
    expect((await phone.register({ contact: '*', expires: 0 })).final?.status).toBe(200);
    expect(await bindings(deviceId)).toEqual([]);
    expect((await status(deviceId)).registrationStatus).toBe('unregistered');
  });

  it('reaps an expired binding (the reaper index lives in another slot than the device)', async () => {
    const { deviceId, phone } = await provision('c3');
    expect((await phone.register({ contact: contactOf('c3', 5074), expires: 1 })).final?.status).toBe(200);
    await until(async () => (await bindings(deviceId)).length === 0 && (await stack.events()).some((e) => e.deviceId === deviceId && e.type === 'expired'), 8000, 'the expired event');
    expect((await status(deviceId)).registrationStatus).toBe('unregistered');
  });

  it('refuses a replayed Authorization (nonce-counts in the device\'s slot)', async () => {
    const { phone } = await provision('c4');
    const { final, authorization } = await phone.register({ contact: contactOf('c4', 5075) });
    expect(final?.status).toBe(200);
    expect((await phone.send({ contact: contactOf('c4', 5075), authorization }))?.status).toBe(401);
    const next = digestAuthorization(phone.lastChallenge!, { user: 'c4', password: phone.password, uri: `sip:${DOMAIN}`, nc: 2 });
    expect((await phone.send({ contact: contactOf('c4', 5075), authorization: next }))?.status).toBe(200);
  });

  it('invalidates cached credentials on a password reset (pub/sub across the cluster)', async () => {
    const { deviceId, phone } = await provision('c5');
    expect((await phone.register({ contact: contactOf('c5', 5076) })).final?.status).toBe(200);
    const reset = await h.req('POST', `${accountPath()}/devices/sip/${deviceId}/reset-password`, { body: {} });
    expect(reset.status).toBe(200);
    // The invalidation crosses the cluster bus (PUBLISH reaches subscribers on other nodes a
    // moment later): the old password is refused within that moment, not necessarily at once.
    const staleFor = Date.now();
    await until(async () => (await phone.register({ contact: contactOf('c5', 5076) })).final?.status === 401, 2000, 'the old password refused', 20);
    console.log(`redis cluster: the old password was refused ${Date.now() - staleFor} ms after the reset's answer`);
    phone.password = reset.body.sipPassword;
    expect((await phone.register({ contact: contactOf('c5', 5076) })).final?.status).toBe(200);
  });

  it('blocks a guessing source (one script over the {sb} slot), mirrors the block, and lifts it through the API', async () => {
    await provision('c6');
    const attacker = await SipClient.udp(stack.udp, '127.0.0.7');
    try {
      const answers: (number | null)[] = [];
      for (let i = 0; i < 5; i++) answers.push((await new Phone(attacker, 'c6', `guess-${i}`, { timeoutMs: 500 }).register()).final?.status ?? null);
      expect(answers.slice(0, 2)).toEqual([401, 401]);
      expect(answers.slice(3)).toEqual([null, null]);
      const blocks = await h.req('GET', '/v2/sip-blocks');
      expect(blocks.body.data.map((b: { address: string }) => b.address)).toEqual(['127.0.0.7']);
      expect((await h.req('DELETE', '/v2/sip-blocks/127.0.0.7')).status).toBe(204);
      // The registrar's mirror hears the lift on the channel: the source is answered again.
      await until(async () => (await new Phone(attacker, 'c6', 'x', { timeoutMs: 300 }).send({}, 300))?.status === 401, 5000, 'the block lifted');
    } finally {
      attacker.close();
    }
  });

  it('forgets a deleted device\'s live state (its keys and its reaper entry, in different slots)', async () => {
    const { deviceId, phone } = await provision('c9');
    expect((await phone.register({ contact: contactOf('c9', 5079) })).final?.status).toBe(200);
    const keys = ['b', 's', 'n'].map((k) => `${stack.prefix}{${deviceId}}:${k}`);
    expect(await stack.redis.exists(...keys)).toBeGreaterThan(0);
    expect((await h.req('DELETE', `${accountPath()}/devices/sip/${deviceId}`)).status).toBe(204);
    await until(async () => (await stack.redis.exists(...keys)) === 0, 3000, 'the device\'s keys removed');
    expect(await stack.redis.zscore(`${stack.prefix}exp`, deviceId)).toBeNull();
  });

  it('goes on after a master is killed: its replica takes over and phones register again', async () => {
    const { deviceId, phone } = await provision('c7');
    expect((await phone.register({ contact: contactOf('c7', 5077) })).final?.status).toBe(200);
    const master = await cluster.masterOf(`${stack.prefix}{${deviceId}}:b`);
    cluster.kill(master);
    await cluster.waitFailover(master);
    // A registration in the failed-over slot succeeds within a few attempts (503s allowed while slots move).
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = (await phone.register({ contact: contactOf('c7', 5077) })).final?.status === 200;
      if (!ok) await sleep(250);
    }
    expect(ok).toBe(true);
    expect(await cluster.masterOf(`${stack.prefix}{${deviceId}}:b`)).not.toBe(master);
    await until(async () => (await status(deviceId)).registrationStatus === 'registered', 5000, 'the API reading the promoted replica');
    // And a device whose slot was not on the dead master is not affected.
    const other = await provision('c8');
    expect((await other.phone.register({ contact: contactOf('c8', 5078) })).final?.status).toBe(200);
  }, 60_000);
});
