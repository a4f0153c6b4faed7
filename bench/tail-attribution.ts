// Which slow registrations of the latency probe overlapped a GC pause or a stall of the
// edge or the registrar (bench/gc-log.ts), and how often a fast one did, for comparison.
//
// Usage: node dist/bench/tail-attribution.js <probe samples file> <gc log>...
// Prints one line per slow sample (over 10 ms, the floor the probe reports against) and a
// summary line starting "attribution:".
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Pause {
  process: string;
  start: number;
  ms: number;
  kind: string;
}

const thresholdMs = 10;
const [samplesFile, ...logs] = process.argv.slice(2);
if (!samplesFile || logs.length === 0) {
  console.error('usage: tail-attribution <probe samples> <gc log>...');
  process.exit(2);
}

const lines = (file: string): string[][] =>
  readFileSync(file, 'latin1')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(' '));
const samples = lines(samplesFile)
  .filter(([, ms]) => ms !== 'lost')
  .map(([start, ms]) => ({ start: Number(start), ms: Number(ms) }));
/** Pauses of 1 ms or more: shorter ones cannot make a registration slow. */
const pauses: Pause[] = logs.flatMap((file) =>
  lines(file)
    .map(([start, ms, kind]) => ({ process: basename(file).split('.')[0]!, start: Number(start), ms: Number(ms), kind: kind ?? '?' }))
    .filter((p) => p.ms >= 1),
);
const overlapping = (s: { start: number; ms: number }): Pause[] => pauses.filter((p) => p.start < s.start + s.ms && p.start + p.ms > s.start);

const slow = samples.filter((s) => s.ms > thresholdMs);
let explained = 0;
for (const s of slow) {
  const hits = overlapping(s);
  if (hits.length) explained++;
  console.log(`${s.ms.toFixed(2)} ms: ${hits.map((p) => `${p.process} ${p.kind} ${p.ms.toFixed(1)} ms`).join(', ') || 'no pause or stall'}`);
}
const fast = samples.filter((s) => s.ms <= thresholdMs);
const fastHit = fast.filter((s) => overlapping(s).length > 0).length;
const pct = (n: number, of: number): string => (of ? ((n / of) * 100).toFixed(1) : 'NA');
console.log(
  `attribution: ${slow.length} of ${samples.length} over ${thresholdMs} ms; ${explained} of them (${pct(explained, slow.length)} %) ` +
    `overlap a pause or stall of 1 ms or more, as do ${pct(fastHit, fast.length)} % of the others`,
);
