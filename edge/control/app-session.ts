/**
 * One app connected on the control port: authentication, routes, pings, and
 * the transactions it holds. Frames it does not support get `NOK|not supported`.
 */
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { coalesceWrites } from '../../shared/coalesce-writes';
import type { ServerTransaction, TransactionOwner } from '../transaction/server-transaction';
import { encodeFrame, FrameDecoder } from './frame-decoder';
import { nokResponse, okResponse } from './wire-format';

/** What an app session needs from the edge. */
export interface ControlDelegate {
  /** The secret compared against `authenticate` (never logged). */
  readonly secret: string;
  /** `OK` fields of a successful authenticate: transports, version, local transports. */
  authFields(): string[];
  readonly maxFrameBytes: number;
  /** Bytes queued for the app (not yet taken by the kernel) past which the connection is dropped. */
  readonly maxBacklogBytes: number;
  route(app: AppSession, verb: string): void;
  unroute(app: AppSession, verb: string): void;
  /** An app's `sip|<transactionId>|<dialogId>` frame; `sip` is the SIP text (latin1). */
  appSip(app: AppSession, msgId: string, transactionId: string, sip: string): void;
  authenticated(app: AppSession): void;
  closed(app: AppSession): void;
  frame(type: string): void;
}

/** An app's connection: a net.Socket from the listener, or an in-process stream with the same members. */
export type ControlSocket = Duplex & {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  setNoDelay(noDelay?: boolean): unknown;
};

/** Before authentication an app may send only a small frame, and only for this long. */
const UNAUTHENTICATED_MAX_FRAME_BYTES = 4096;
const AUTHENTICATE_TIMEOUT_MS = 10_000;
const KNOWN_TYPES = new Set(['authenticate', 'route', 'remove_route', 'ping', 'sip', 'proxy', 'cdr']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'latin1').digest();
}

/** A connected app. */
export class AppSession implements TransactionOwner {
  readonly id = randomUUID();
  readonly pending = new Set<ServerTransaction>();
  readonly remote: string;
  private readonly decoder = new FrameDecoder(UNAUTHENTICATED_MAX_FRAME_BYTES);
  private isAuthenticated = false;
  private closed = false;
  private authTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: ControlSocket,
    private readonly delegate: ControlDelegate,
    private readonly log: Logger,
    private readonly onClosed: () => void = () => undefined,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    coalesceWrites(socket);
    this.authTimer = setTimeout(() => {
      this.log.warn({ remote: this.remote }, 'control connection did not authenticate in time');
      this.close();
    }, AUTHENTICATE_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.log.debug({ err: err.message, remote: this.remote }, 'control connection error');
      socket.destroy();
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => this.onClose());
  }

  get authenticated(): boolean {
    return this.isAuthenticated;
  }

  /**
   * Sends one frame (latin1 payload); frames of one event-loop turn leave in one write (coalesceWrites).
   * An app that stops reading would make the queue grow without bound: past `maxBacklogBytes` the
   * connection is destroyed, and its close runs the app-gone path (routes removed, transactions answered).
   */
  send(payload: string): void {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.writableLength > this.delegate.maxBacklogBytes) {
      this.log.warn({ app: this.id, remote: this.remote, queuedBytes: this.socket.writableLength }, 'app does not read its control connection: dropping it');
      this.destroy();
      return;
    }
    this.socket.write(encodeFrame(payload));
  }

  /** TransactionOwner: the transaction no longer needs this app. */
  release(txn: ServerTransaction): void {
    this.pending.delete(txn);
  }

  /** Ends the connection after pending writes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    if (!this.socket.destroyed) this.lingerTimer = setTimeout(() => this.socket.destroy(), 1_000);
  }

  /** Destroys the connection at once (edge stopping). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const { frames, error } = this.decoder.push(chunk);
    for (const f of frames) {
      if (this.closed) return;
      this.onFrame(f.toString('latin1', 0, f.length));
    }
    if (error && !this.closed) {
      this.log.warn({ remote: this.remote, reason: error }, 'closing control connection: bad framing');
      this.close();
    }
  }

  private onFrame(payload: string): void {
    const crlf = payload.indexOf('\r\n');
    const leader = crlf === -1 ? payload : payload.slice(0, crlf);
    const token = leader.split('|');
    const msgId = token[0] ?? '';
    const type = token[1] ?? '';
    this.delegate.frame(KNOWN_TYPES.has(type) ? type : type.startsWith('cdr:') ? 'cdr' : 'other');
    if (!this.isAuthenticated) {
      if (type !== 'authenticate') {
        this.send(nokResponse(msgId, 'not authenticated'));
        this.close();
        return;
      }
      const given = token[2] ?? '';
      // Compare digests so the comparison takes the same time whatever the secret's length.
      if (!timingSafeEqual(digest(given), digest(this.delegate.secret))) {
        this.log.warn({ remote: this.remote }, 'control connection: incorrect secret');
        this.send(nokResponse(msgId, 'incorrect secret'));
        this.close();
        return;
      }
      this.isAuthenticated = true;
      if (this.authTimer) clearTimeout(this.authTimer);
      this.authTimer = undefined;
      this.decoder.maxFrameBytes = this.delegate.maxFrameBytes;
      this.send(okResponse(msgId, ...this.delegate.authFields()));
      this.delegate.authenticated(this);
      return;
    }
    switch (type) {
      case 'route': {
        const verb = token[2] ?? '';
        if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(verb)) {
          this.send(nokResponse(msgId, 'not supported'));
          return;
        }
        this.delegate.route(this, verb);
        this.send(okResponse(msgId));
        return;
      }
      case 'remove_route':
        this.delegate.unroute(this, token[2] ?? '');
        this.send(okResponse(msgId));
        return;
      case 'ping':
        this.send(okResponse(msgId, 'pong'));
        return;
      case 'sip':
        if (crlf === -1) {
          this.send(nokResponse(msgId, 'not supported'));
          return;
        }
        this.delegate.appSip(this, msgId, token[2] ?? '', payload.slice(crlf + 2));
        return;
      case 'authenticate':
        this.send(okResponse(msgId, ...this.delegate.authFields()));
        return;
      default:
        this.send(nokResponse(msgId, 'not supported'));
    }
  }

  private onClose(): void {
    this.closed = true;
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.authTimer = undefined;
    this.onClosed();
    this.delegate.closed(this);
  }
}
