import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withTimeout } from '../shared/with-timeout';

/** One readiness dependency: resolves true when usable. */
export type ReadyCheck = () => Promise<boolean>;

export interface HealthServerOptions {
  host: string;
  port: number;
  checks: Record<string, ReadyCheck>;
  metrics: () => Promise<string>;
}

/**
 * The registrar's small HTTP server: `/livez` (the process runs), `/readyz`
 * (every dependency answers: engine, Redis, PostgreSQL) and `/metrics` (Prometheus text).
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<{ server: Server; address: string; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      void (async () => {
        const results: Record<string, boolean> = {};
        await Promise.all(Object.entries(opts.checks).map(async ([name, check]) => (results[name] = await withTimeout(check(), 1_500).catch(() => false))));
        const ok = Object.values(results).every(Boolean);
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', checks: results }));
      })();
      return;
    }
    if (path === '/metrics') {
      opts
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(text))
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return { server, address: addr.address, port: addr.port };
}
