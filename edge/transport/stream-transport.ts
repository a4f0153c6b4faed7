/**
 * TCP and TLS listeners (RFC 3261 §18): connection caps in total and per
 * source address, an idle timeout, half-closed sockets kept open until the
 * transactions they carry are answered, and resets handled quietly.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { StreamChannel } from '../transaction/reply-channel';
import { MessageHead, ParseLimits } from '../sip/message';
import { SipStreamFramer } from '../sip/stream-framer';
import { KEEPALIVE_PONG } from '../sip/constants';
import { BoundAddress, listen, normalizeAddress } from './address';

/** Limits of one stream listener. */
export interface StreamLimits extends ParseLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  /** Milliseconds without traffic before a connection is closed. */
  readonly idleTimeoutMs: number;
  /** Milliseconds a connection may hold part of one message, however slowly the rest trickles in. */
  readonly messageTimeoutMs: number;
}

/** A peer that does not read its responses is cut off past this much unsent data. */
const MAX_PENDING_WRITE_BYTES = 1024 * 1024;
/** Time allowed for a TLS handshake. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
const PONG = Buffer.from(KEEPALIVE_PONG, 'latin1');

/** What a stream listener hands to the SIP core. */
export interface StreamHandlers {
  message(head: MessageHead, body: string, bytes: number, conn: StreamConnection): void;
  /** The stream cannot be framed any more; the core may answer `head` before the connection closes. */
  fatal(reason: string, head: MessageHead | undefined, conn: StreamConnection): void;
  rejected(reason: string): void;
}

/** One accepted TCP or TLS connection; also the reply channel of its requests. */
export class StreamConnection implements StreamChannel {
  readonly reliable = true;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly framer: SipStreamFramer;
  private inFlight = 0;
  /** No more requests will be read: the peer half-closed, or the stream cannot be framed any more. */
  private readDone = false;
  private closing = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Runs while the framer holds part of a message; more bytes of the same message do not restart it, a completed message stops it. */
  private messageTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly transport: 'tcp' | 'tls',
    private readonly socket: net.Socket,
    readonly localAddress: string,
    readonly localPort: number,
    limits: StreamLimits,
    handlers: StreamHandlers,
    private readonly log: Logger,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.framer = new SipStreamFramer(limits, {
      message: (head, body, bytes) => {
        this.clearMessageTimer();
        handlers.message(head, body, bytes, this);
      },
      ping: () => this.send(PONG),
      fatal: (reason, head) => {
        handlers.rejected(reason);
        handlers.fatal(reason, head, this);
        // Requests read before the fault still get their answers on this connection (RFC 3261 §18.2.2):
        // read nothing more, and close once they are answered.
        this.stopReading();
      },
    });
    // The idle timeout alone lets a peer keep a partial message (and its buffer) for ever with
    // one byte now and then: the message as a whole must arrive within messageTimeoutMs.
    const messageTimedOut = (): void => {
      this.messageTimer = undefined;
      handlers.rejected('incomplete message');
      this.log.debug({ remote: this.remoteAddress, port: this.remotePort }, 'closing sip connection: message not completed in time');
      this.stopReading();
    };
    const watchPartialMessage = (): void => {
      if (!this.framer.holdsPartialMessage) this.clearMessageTimer();
      else if (!this.messageTimer) this.messageTimer = setTimeout(messageTimedOut, limits.messageTimeoutMs);
    };
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs, () => {
      handlers.rejected('idle');
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      watchPartialMessage();
    });
    socket.on('end', () => {
      // The peer half-closed: answer what is in flight, then close our side (RFC 3261 §18.2.2 needs the connection).
      this.readDone = true;
      if (this.inFlight === 0) this.end();
    });
    socket.on('error', (err) => {
      this.log.debug({ err: err.message, remote: this.remoteAddress, port: this.remotePort }, 'sip connection error');
      socket.destroy();
    });
    socket.on('close', () => {
      this.framer.close();
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.clearMessageTimer();
    });
  }

  send(data: Buffer): boolean {
    const s = this.socket;
    if (s.destroyed || !s.writable) return false;
    if (s.writableLength > MAX_PENDING_WRITE_BYTES) {
      s.destroy();
      return false;
    }
    s.write(data);
    return true;
  }

  hold(): void {
    this.inFlight++;
  }

  release(): void {
    if (this.inFlight > 0) this.inFlight--;
    if (this.readDone && this.inFlight === 0) this.end();
  }

  /** Reads nothing more (the socket is paused, so the peer's further bytes wait in the kernel); ends once nothing is in flight. */
  private stopReading(): void {
    this.readDone = true;
    this.clearMessageTimer();
    this.framer.close();
    this.socket.pause();
    if (this.inFlight === 0) this.end();
  }

  /** Ends our side after pending writes. */
  end(): void {
    if (this.closing) return;
    this.closing = true;
    this.framer.close();
    this.clearMessageTimer();
    this.socket.end();
    // A peer that never closes its side must not keep the socket.
    if (!this.socket.destroyed) this.lingerTimer = setTimeout(() => this.socket.destroy(), 2_000);
  }

  private clearMessageTimer(): void {
    if (this.messageTimer) clearTimeout(this.messageTimer);
    this.messageTimer = undefined;
  }

  destroy(): void {
    this.framer.close();
    this.socket.destroy();
  }
}

/** A TCP or TLS SIP listener. */
export class StreamTransport {
  private readonly connections = new Set<net.Socket>();
  private readonly perSource = new Map<string, number>();
  private closed = false;

  private constructor(
    readonly transport: 'tcp' | 'tls',
    private readonly server: net.Server,
    readonly address: BoundAddress,
  ) {}

  /** Open connections. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Listens on `address:port`; `tlsOptions` makes it a TLS listener. */
  static listen(opts: {
    transport: 'tcp' | 'tls';
    address: string;
    port: number;
    advertised: string;
    tls?: { cert: string | Buffer; key: string | Buffer };
    limits: StreamLimits;
    handlers: StreamHandlers;
    log: Logger;
  }): Promise<StreamTransport> {
    const { limits, handlers, log } = opts;
    const server: net.Server = opts.tls
      ? tls.createServer({
          cert: opts.tls.cert,
          key: opts.tls.key,
          minVersion: 'TLSv1.2',
          maxVersion: 'TLSv1.3',
          handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          allowHalfOpen: true,
        })
      : net.createServer({ allowHalfOpen: true });
    let transport: StreamTransport | undefined;
    let localPort = 0;

    server.on('connection', (raw: net.Socket) => {
      raw.on('error', () => raw.destroy());
      const t = transport;
      if (!t || t.closed) return void raw.destroy();
      const source = normalizeAddress(raw.remoteAddress ?? '');
      const n = t.perSource.get(source) ?? 0;
      if (t.connections.size >= limits.maxConnections) {
        handlers.rejected('connection limit');
        return void raw.destroy();
      }
      if (n >= limits.maxConnectionsPerSource) {
        handlers.rejected('per-source connection limit');
        return void raw.destroy();
      }
      t.connections.add(raw);
      t.perSource.set(source, n + 1);
      raw.once('close', () => {
        t.connections.delete(raw);
        const left = (t.perSource.get(source) ?? 1) - 1;
        if (left <= 0) t.perSource.delete(source);
        else t.perSource.set(source, left);
      });
      if (!opts.tls) new StreamConnection('tcp', raw, opts.advertised, localPort, limits, handlers, log);
    });
    if (opts.tls) {
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        new StreamConnection('tls', socket, opts.advertised, localPort, limits, handlers, log);
      });
      server.on('tlsClientError', (err) => {
        handlers.rejected('tls handshake');
        log.debug({ err: err.message }, 'tls handshake failed');
      });
    }
    server.on('error', (err) => log.warn({ err: err.message, transport: opts.transport }, 'sip listener error'));

    return listen(server, { port: opts.port, host: opts.address, exclusive: true }).then((bound) => {
      localPort = bound.port;
      transport = new StreamTransport(opts.transport, server, bound);
      return transport;
    });
  }

  /** Stops listening and destroys every connection; safe to call twice. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of this.connections) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
