// Preload for bench/registrar-sweep.sh (BENCH_TAIL_ATTRIBUTION=1): logs this process's GC
// pauses and event-loop stalls with wall-clock times, so that slow registrations of the
// latency probe can be matched against them (bench/tail-attribution.ts).
//
// Usage: GC_LOG_DIR=<dir> node -r ./dist/bench/gc-log.js <main>
// Writes <dir>/<main's folder>.<pid>.gc, lines "<start, ms since epoch> <duration ms> <kind>":
// kind is minor, major, incremental or weakcb (V8's GC kinds), or stall (a 5 ms timer that
// fired more than 5 ms late: the process did not run, for GC or because it was descheduled).
import { appendFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.GC_LOG_DIR;
if (dir) {
  const file = join(dir, `${basename(dirname(process.argv[1] ?? 'node'))}.${process.pid}.gc`);
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const lines: string[] = [];
  const at = (t: number): string => (performance.timeOrigin + t).toFixed(2);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = ((e as { detail?: { kind?: number } }).detail)?.kind ?? 0;
      lines.push(`${at(e.startTime)} ${e.duration.toFixed(2)} ${kinds[kind] ?? kind}`);
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 10) lines.push(`${at(last + 5)} ${(now - last - 5).toFixed(2)} stall`); // late from when it was due
    last = now;
  }, 5).unref();
  setInterval(() => {
    if (lines.length) appendFileSync(file, lines.splice(0).join('\n') + '\n');
  }, 500).unref();
}
