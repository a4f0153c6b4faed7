// Event latency probe for bench/registrar-sweep.sh (BENCH_EVENT_PROBE=1): one device registers
// and unregisters in turn at a low rate while it listens to its account's event stream (SSE),
// and times each from the 200 OK to the arrival of its `registered` / `unregistered` event.
//
// Usage: node dist/bench/event-latency.js <sipPort> <user> <password> <domain> <apiBase> <apiKey> <accountId> <seconds> [ratePerSecond]
// Prints one line: "events n=<count> lost=<count> p50_ms=<x> p99_ms=<y> max_ms=<z>".
import { request } from 'node:http';
import { createUa, quantile } from './sip-ua';

const [portArg, user, password, domain, apiBase, apiKey, accountId, secondsArg, rateArg] = process.argv.slice(2);
if (!portArg || !user || !password || !domain || !apiBase || !apiKey || !accountId || !secondsArg) {
  console.error('usage: event-latency <sipPort> <user> <password> <domain> <apiBase> <apiKey> <accountId> <seconds> [rate]');
  process.exit(2);
}
const rate = Number(rateArg ?? 5);

/** Arrival time (ms, monotonic) of each event type of this user, in arrival order. */
const arrivals: { type: string; at: number }[] = [];
let waiter: (() => void) | null = null;

function listen(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${apiBase}/v2/accounts/${accountId}/events/stream?type=registered,unregistered`, { headers: { 'X-Auth-Token': apiKey!, Accept: 'text/event-stream' } });
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (!data) continue;
          const e = JSON.parse(data) as { type: string; data: { contact?: string } };
          if (e.data.contact?.startsWith(`sip:${user}@`)) {
            arrivals.push({ type: e.type, at: performance.now() });
            waiter?.();
          }
        }
      });
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

/** The event of `type` arriving after index `from`, or null after 5 s. */
function arrival(type: string, from: number): Promise<number | null> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const hit = arrivals.slice(from).find((a) => a.type === type);
      if (hit) resolve(hit.at);
      return hit !== undefined;
    };
    if (check()) return;
    const timer = setTimeout(() => {
      waiter = null;
      resolve(null);
    }, 5000);
    waiter = () => {
      if (check()) {
        clearTimeout(timer);
        waiter = null;
      }
    };
  });
}

async function main(): Promise<void> {
  await listen();
  const ua = await createUa(Number(portArg), user!, password!, domain!);
  const times: number[] = [];
  let lost = 0;
  const end = Date.now() + Number(secondsArg) * 1000;
  for (let i = 0; Date.now() < end; i++) {
    const type = i % 2 === 0 ? 'registered' : 'unregistered';
    const from = arrivals.length;
    const ms = await ua.register({ expires: type === 'registered' ? 3600 : 0 });
    const answered = performance.now();
    const at = ms === null ? null : await arrival(type, from);
    if (at === null) lost++;
    else times.push(Math.max(0, at - answered));
    // A random pause (half to one and a half periods): a fixed one would lock onto the registrar's flush timer.
    await new Promise((r) => setTimeout(r, (0.5 + Math.random()) * (1000 / rate)));
  }
  ua.close();
  times.sort((a, b) => a - b);
  console.log(`events n=${times.length} lost=${lost} p50_ms=${quantile(times, 0.5)} p99_ms=${quantile(times, 0.99)} max_ms=${times.length ? times[times.length - 1]!.toFixed(2) : 'NA'}`);
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(`event-latency: ${err.message}`);
  process.exit(1);
});
