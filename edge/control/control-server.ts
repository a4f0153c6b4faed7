/** The control listener (drachtio protocol, TCP or TLS). */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { BoundAddress, listen } from '../transport/address';
import { AppSession, ControlDelegate, ControlSocket } from './app-session';

/** Listens for apps and keeps their sessions. */
export class ControlServer {
  readonly sessions = new Set<AppSession>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly address: BoundAddress,
    private readonly delegate: ControlDelegate,
    private readonly log: Logger,
  ) {}

  /** Takes an app connection: one accepted on the listener, or a stream from the same process. */
  accept(socket: ControlSocket): void {
    if (this.closed) return void socket.destroy();
    const session: AppSession = new AppSession(socket, this.delegate, this.log, () => this.sessions.delete(session));
    this.sessions.add(session);
  }

  /** Apps that authenticated and are still connected. */
  get connectedApps(): number {
    let n = 0;
    for (const s of this.sessions) if (s.authenticated) n++;
    return n;
  }

  static listen(opts: {
    address: string;
    port: number;
    tls?: { cert: string | Buffer; key: string | Buffer };
    delegate: ControlDelegate;
    log: Logger;
  }): Promise<ControlServer> {
    const server: net.Server = opts.tls
      ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' })
      : net.createServer();
    let control: ControlServer | undefined;
    const accept = (socket: net.Socket): void => (control ? control.accept(socket) : void socket.destroy());
    if (opts.tls) {
      server.on('secureConnection', accept);
      server.on('tlsClientError', (err) => opts.log.warn({ err: err.message }, 'control tls handshake failed'));
    } else server.on('connection', accept);
    server.on('error', (err) => opts.log.warn({ err: err.message }, 'control listener error'));
    return listen(server, { port: opts.port, host: opts.address }).then((bound) => {
      control = new ControlServer(server, bound, opts.delegate, opts.log);
      return control;
    });
  }

  /** Stops listening and drops every app; safe to call twice. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of this.sessions) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
