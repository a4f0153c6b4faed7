/** A small HTTP listener serving `GET /metrics` in Prometheus text format. */
import http from 'node:http';
import { BoundAddress, listen } from '../transport/address';
import type { MetricsRegistry } from './metrics';

/** The metrics HTTP server. */
export class MetricsServer {
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    readonly address: BoundAddress,
  ) {}

  static listen(address: string, port: number, registry: MetricsRegistry): Promise<MetricsServer> {
    const server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(registry.render());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    });
    server.keepAliveTimeout = 5_000;
    server.on('clientError', (_err, socket) => socket.destroy());
    return listen(server, { port, host: address }).then((bound) => new MetricsServer(server, bound));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
