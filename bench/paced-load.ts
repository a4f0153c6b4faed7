// Open-loop, evenly paced HTTP load for latency at a fixed rate.
//
// autocannon's `overallRate` lets every connection send back to back until its
// per-second budget is spent, then pause until the next second: the server sees
// the whole second's requests as one burst, and the latency measured is that of
// a saturating burst, not of a steady rate. Here request i is due at
// start + i / rate, sent on time whatever the answers do (keep-alive sockets,
// opened as needed), and its latency is counted from when it was due, so a slow
// answer cannot hide the ones queued behind it (no coordinated omission).
import http from 'node:http';

export interface PacedResult {
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export async function pacedLoad(opts: {
  url: string;
  headers?: Record<string, string>;
  paths?: string[];
  rate: number;
  durationS: number;
}): Promise<PacedResult> {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const paths = opts.paths ?? [target.pathname + target.search];
  const total = Math.round(opts.rate * opts.durationS);
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let done = 0;
  const start = performance.now();

  const fire = (i: number): void => {
    const due = start + (i * 1000) / opts.rate;
    const req = http.request(
      { host: target.hostname, port: target.port, path: paths[i % paths.length], headers: opts.headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode && res.statusCode < 300) latencies.push(performance.now() - due);
          else errors++;
          done++;
        });
      },
    );
    req.on('error', () => {
      errors++;
      done++;
    });
    req.end();
  };

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * opts.rate) / 1000) + 1);
      while (sent < due) fire(sent++);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  // Let the last answers arrive (bounded).
  for (let i = 0; i < 500 && done < sent; i++) await new Promise((r) => setTimeout(r, 10));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  return { sent, errors: errors + (sent - done), p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1] ?? NaN };
}
