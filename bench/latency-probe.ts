// Latency probe for bench/registrar-sweep.sh: while SIPp loads the registrar, this
// client performs full digest registrations (REGISTER, 401, REGISTER, 200) of one
// device at a low fixed rate and times each with a monotonic clock, because SIPp's
// response times move in steps of the kernel's timer tick (4 ms here).
//
// Usage: node dist/bench/latency-probe.js <sipPort> <user> <password> <domain> <seconds> [ratePerSecond] [single]
// With `single`, each sample is one REGISTER answered by any final response (an app that never challenges).
// Prints one line: "probe n=<count> lost=<count> p50_ms=<x> p90_ms=<x> p99_ms=<y> max_ms=<z> over_10ms_pct=<share of samples over 10 ms>".
import { writeFileSync } from 'node:fs';
import { createUa, quantile } from './sip-ua';

const [portArg, user, password, domain, secondsArg, rateArg, mode] = process.argv.slice(2);
if (!portArg || !user || !password || !domain || !secondsArg) {
  console.error('usage: latency-probe <sipPort> <user> <password> <domain> <seconds> [rate]');
  process.exit(2);
}
const port = Number(portArg);
const seconds = Number(secondsArg);
const rate = Number(rateArg ?? 50);
/** PROBE_SAMPLES_FILE: also write each sample as "<start, ms since epoch> <latency ms | lost>". */
const samplesFile = process.env.PROBE_SAMPLES_FILE;
const samples: string[] = [];

async function main(): Promise<void> {
  const ua = await createUa(port, user!, password!, domain!);
  const times: number[] = [];
  let lost = 0;
  const interval = 1000 / rate;
  const end = Date.now() + seconds * 1000;
  for (let next = Date.now(); Date.now() < end; ) {
    const startedAt = Date.now();
    const ms = await ua.register({ single: mode === 'single' });
    if (ms === null) lost++;
    else times.push(ms);
    if (samplesFile) samples.push(`${startedAt} ${ms ?? 'lost'}`);
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  ua.close();
  if (samplesFile) writeFileSync(samplesFile, samples.join('\n') + '\n');
  times.sort((a, b) => a - b);
  const at = (q: number): string => quantile(times, q);
  const over10 = times.length ? ((times.filter((t) => t > 10).length / times.length) * 100).toFixed(2) : 'NA';
  console.log(
    `probe n=${times.length} lost=${lost} p50_ms=${at(0.5)} p90_ms=${at(0.9)} p99_ms=${at(0.99)} max_ms=${times.length ? times[times.length - 1]!.toFixed(2) : 'NA'} over_10ms_pct=${over10}`,
  );
}

void main();
