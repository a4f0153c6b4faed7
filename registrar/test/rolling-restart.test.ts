import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sleep } from '../../shared/testing/wait';
import { insertDevices, Phone, SipClient, Stack, startChildRegistrar, startStack } from './support';

// A rolling restart of two registrar processes under 500 REGISTERs/s (ROLLING_RESTART_RATE): each in turn gets
// SIGTERM (it asks the engine to route elsewhere, answers what it holds, exits) and is started
// again. Phones retransmit as UDP phones do; not one registration fails.

const DEVICES = 2500;
// Runs first in the suite (shared/testing/sequencer.js): late in the long-lived jest process,
// garbage collection pauses of its large heap stalled the edge and the phones at this rate.
// 500/s: in a slow spell of the machine 1,000/s saturated the phones, edge and registrars that the
// test runs on two cores (931-1,537 of 2,500 unanswered, before and after the change under test
// alike); 700/s passed with retransmissions, 500/s with none. ROLLING_RESTART_RATE=1000 for more.
const RATE_PER_S = Number(process.env.ROLLING_RESTART_RATE ?? 500);
const NONCE_SECRET = randomBytes(24).toString('hex');

let stack: Stack;
const children: ChildProcess[] = [];
const clients: SipClient[] = [];

beforeAll(async () => {
  stack = await startStack({ registrar: { nonceSecret: NONCE_SECRET, maxInFlight: 100_000 } });
  await insertDevices(stack, 'r', DEVICES);
  for (let i = 0; i < 2; i++) children.push((await startChildRegistrar(stack, NONCE_SECRET)).proc);
  // Only the two registrar processes serve (this process holds the edge and the phones): the
  // stack's own registrar leaves the engine the way a restarted one does.
  await stack.registrar.shutdown(5000);
  for (let i = 0; i < 8; i++) clients.push(await SipClient.udp(stack.udp));
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.stop();
});

/** SIGTERM, and how long the process took to exit (it must, on its own). */
function terminate(proc: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    proc.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
    proc.kill('SIGTERM');
  });
}

it('restarts each registrar process in turn under load with no failed registration', async () => {
  const phones = Array.from({ length: DEVICES }, (_, i) => new Phone(clients[i % clients.length]!, `r${i}`, `pw-${i}`, { timeoutMs: 8000, retransmit: true }));
  let running = true;
  const statuses = new Map<string, number>();
  let sent = 0;
  const load = (async () => {
    const runs: Promise<void>[] = [];
    const start = Date.now();
    for (let n = 0; running; n++) {
      const wait = start + (n * 1000) / RATE_PER_S - Date.now();
      if (wait > 0) await sleep(wait);
      const i = n % DEVICES;
      sent++;
      runs.push(
        phones[i]!.register({ contact: `<sip:r${i}@127.0.0.1:${8000 + (i % 1000)}>` }).then(
          (r) => {
            const key = String(r.final?.status ?? 'no answer');
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
          },
          () => void statuses.set('error', (statuses.get('error') ?? 0) + 1),
        ),
      );
      // Each device registers again only after its last one finished.
      if (i === DEVICES - 1) await Promise.all(runs.splice(0));
    }
    await Promise.all(runs);
  })();

  const exits: { code: number | null; ms: number }[] = [];
  await sleep(500);
  for (let k = 0; k < children.length; k++) {
    exits.push(await terminate(children[k]!));
    children[k] = (await startChildRegistrar(stack, NONCE_SECRET)).proc;
    await sleep(300);
  }
  running = false;
  await load;
  const retransmissions = phones.reduce((n, p) => n + p.retransmissions, 0);
  console.log(`rolling restart: ${sent} REGISTERs offered, answers ${JSON.stringify(Object.fromEntries(statuses))}, ${retransmissions} retransmissions; exits ${JSON.stringify(exits)}`);
  expect(exits.map((e) => e.code)).toEqual([0, 0]);
  expect(Object.fromEntries(statuses)).toEqual({ '200': sent });
  // The load ran through both restarts (each takes over a second).
  expect(sent).toBeGreaterThan(RATE_PER_S * 2);
}, 120_000);
