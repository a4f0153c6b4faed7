import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sleep, until } from '../../shared/testing/wait';
import { insertDevices, Phone, SipClient, Stack, startChildRegistrar, startStack } from './support';

// Two registrars on one edge (as several apps share one drachtio-server): one in this process,
// one in a child process that is killed with SIGKILL while phones register at 1,000/s (SCALE_OUT_RATE).
// No registration answered 200 is lost, and the edge stops routing to the dead app at once.

const DEVICES = 3000;
// Runs early in the suite (shared/testing/sequencer.js), as the rolling restart does.
const RATE_PER_S = Number(process.env.SCALE_OUT_RATE ?? 1000);
const KILL_AT_MS = 1500;
const NONCE_SECRET = randomBytes(24).toString('hex');

let stack: Stack;
let child: ChildProcess;
let childHttpPort: number;
const clients: SipClient[] = [];

beforeAll(async () => {
  stack = await startStack({ registrar: { nonceSecret: NONCE_SECRET, maxInFlight: 100_000 } });
  await insertDevices(stack, 's', DEVICES);
  ({ proc: child, httpPort: childHttpPort } = await startChildRegistrar(stack, NONCE_SECRET));
  for (let i = 0; i < 8; i++) clients.push(await SipClient.udp(stack.udp));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await stack?.stop();
});

it('serves REGISTERs through both registrars; a registrar killed under load loses no answered registration and gets no more requests', async () => {
  // Both registrars take requests (the edge hands them out in turn: with two apps a challenge
  // and its answer go to different registrars, which share the nonce secret).
  const warm = new Phone(clients[0]!, 's0', 'pw-0');
  for (let i = 0; i < 4; i++) expect((await warm.register({ contact: '<sip:s0@127.0.0.1:7000>' })).final?.status).toBe(200);
  const requestCount = (text: string): number => [...text.matchAll(/^registrar_registrations_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  expect(requestCount(await (await fetch(`http://127.0.0.1:${childHttpPort}/metrics`)).text())).toBeGreaterThan(0);
  expect(requestCount(await (await fetch(`http://127.0.0.1:${stack.registrar.http.port}/metrics`)).text())).toBeGreaterThan(0);

  const phones = Array.from({ length: DEVICES }, (_, i) => new Phone(clients[i % clients.length]!, `s${i}`, `pw-${i}`, { timeoutMs: 5000 }));
  const answered: boolean[] = new Array(DEVICES).fill(false);
  const startedAt: number[] = new Array(DEVICES).fill(0);
  const start = Date.now();
  let killedAt = Infinity;
  const killer = (async () => {
    await sleep(KILL_AT_MS);
    killedAt = Date.now();
    child.kill('SIGKILL');
  })();
  const runs: Promise<void>[] = [];
  for (let i = 1; i < DEVICES; i++) {
    const wait = start + (i * 1000) / RATE_PER_S - Date.now();
    if (wait > 0) await sleep(wait);
    startedAt[i] = Date.now();
    runs.push(
      phones[i]!.register({ contact: `<sip:s${i}@127.0.0.1:${7000 + (i % 1000)}>` }).then(
        (r) => void (answered[i] = r.final?.status === 200),
        () => undefined,
      ),
    );
  }
  await Promise.all(runs);
  await killer;

  const ok = answered.filter(Boolean).length;
  // Every registration answered 200 (by either registrar) is in Redis.
  const lost: number[] = [];
  for (let i = 1; i < DEVICES; i++) if (answered[i] && (await stack.store.load(`dev_s${i}`)).bindings.length === 0) lost.push(i);
  // Requests that started once the kill was seen by the edge all went to the live registrar.
  const after = [...answered.keys()].filter((i) => i > 0 && startedAt[i]! > killedAt + 100);
  const failedAfter = after.filter((i) => !answered[i]);
  const inFlight = [...answered.keys()].filter((i) => i > 0 && startedAt[i]! <= killedAt + 100 && startedAt[i]! > killedAt - 100 && !answered[i]).length;
  console.log(`scale-out: ${ok} of ${DEVICES - 1} answered 200; ${lost.length} answered but lost; ${failedAfter.length} of ${after.length} started after the kill failed; ${inFlight} unanswered around the kill`);
  expect(lost).toEqual([]);
  expect(after.length).toBeGreaterThan(RATE_PER_S / 2);
  expect(failedAfter).toEqual([]);
  // The dead registrar's requests in flight at the kill are what a phone retransmits: a new REGISTER now succeeds.
  for (const i of [...answered.keys()].filter((k) => k > 0 && !answered[k])) {
    await until(async () => (await phones[i]!.register({ contact: `<sip:s${i}@127.0.0.1:${7000 + (i % 1000)}>` })).final?.status === 200, 5000, `s${i} registered`, 50);
  }
}, 120_000);

describe('one registrar on two edges', () => {
  let twin: Stack;
  let viaFirst: SipClient;
  let viaSecond: SipClient;
  beforeAll(async () => {
    twin = await startStack({ extraEdges: 1 });
    await insertDevices(twin, 't', 4);
    viaFirst = await SipClient.udp(twin.udp);
    viaSecond = await SipClient.udp(twin.extraEdges[0]!.addresses.udp);
  }, 30_000);
  afterAll(async () => {
    viaFirst?.close();
    viaSecond?.close();
    await twin?.stop();
  });

  it('registers phones through either edge, answers each on the edge it came from, and serves one edge while the other is gone', async () => {
    expect(twin.registrar.engineConnected).toBe(true);
    expect((await new Phone(viaFirst, 't0', 'pw-0').register({ contact: '<sip:t0@127.0.0.1:9100>' })).final?.status).toBe(200);
    expect((await new Phone(viaSecond, 't1', 'pw-1').register({ contact: '<sip:t1@127.0.0.1:9101>' })).final?.status).toBe(200);
    // The same device through both edges: two bindings of one address-of-record.
    expect((await new Phone(viaSecond, 't0', 'pw-0').register({ contact: '<sip:t0@127.0.0.1:9102>' })).final?.status).toBe(200);
    expect((await twin.store.load('dev_t0')).bindings.map((b) => b.uri).sort()).toEqual(['sip:t0@127.0.0.1:9100', 'sip:t0@127.0.0.1:9102']);
    await twin.extraEdges[0]!.stop();
    await until(async () => !twin.registrar.engineConnected, 5000, 'the second edge seen gone');
    expect((await fetch(`http://127.0.0.1:${twin.registrar.http.port}/readyz`)).status).toBe(200);
    expect((await new Phone(viaFirst, 't2', 'pw-2').register({ contact: '<sip:t2@127.0.0.1:9103>' })).final?.status).toBe(200);
  });
});
