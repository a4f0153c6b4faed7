/**
 * Splits a byte stream (TCP or TLS) into SIP messages using Content-Length
 * (RFC 3261 §18.3), answers RFC 5626 §4.4.1 double-CRLF pings, and gives up
 * on a stream that sends garbage or more than the limits allow.
 */
import { MessageHead, ParseLimits, parseHead } from './message';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CR = 13;
const LF = 10;

/** What the framer reports to its connection. */
export interface FramerEvents {
  /** A complete message: parsed head, latin1 body and the size it had on the wire. */
  message(head: MessageHead, body: string, bytes: number): void;
  /** A double-CRLF keep-alive ping arrived: answer with a single CRLF. */
  ping(): void;
  /** The stream cannot be framed any more; `head` is set when a header block could be read. */
  fatal(reason: string, head?: MessageHead): void;
}

/** Incremental framer for one stream connection. */
export class SipStreamFramer {
  private buf: Buffer | undefined;
  private scanFrom = 0;
  private dead = false;

  constructor(
    private readonly limits: ParseLimits,
    private readonly events: FramerEvents,
  ) {}

  /** Feeds bytes read from the socket. */
  push(chunk: Buffer): void {
    if (this.dead) return;
    this.buf = this.buf && this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.drain();
  }

  private fail(reason: string, head?: MessageHead): void {
    this.dead = true;
    this.buf = undefined;
    this.events.fatal(reason, head);
  }

  private drain(): void {
    let buf = this.buf!;
    let off = 0;
    // Each iteration consumes at least one byte or returns: bounded by the buffer size.
    while (off < buf.length && !this.dead) {
      const c = buf[off]!;
      if (c === CR || c === LF) {
        if (buf.length - off >= 4 && buf[off] === CR && buf[off + 1] === LF && buf[off + 2] === CR && buf[off + 3] === LF) {
          off += 4;
          this.events.ping();
          continue;
        }
        if (buf.length - off < 4 && isCrlfPrefix(buf, off)) break; // maybe the start of a ping
        off += c === CR && buf[off + 1] === LF ? 2 : 1;
        continue;
      }
      const end = buf.indexOf(CRLFCRLF, Math.max(off, this.scanFrom));
      if (end === -1) {
        const pending = buf.length - off;
        if (pending > this.limits.maxMessageBytes) return this.fail('message too large');
        const firstLine = buf.indexOf(LF, off);
        if ((firstLine === -1 ? pending : firstLine - off) > this.limits.maxLineBytes) return this.fail('line too long');
        this.scanFrom = Math.max(off, buf.length - 3);
        break;
      }
      this.scanFrom = 0;
      if (end - off > this.limits.maxMessageBytes) return this.fail('message too large');
      const head = parseHead(buf.toString('latin1', off, end), this.limits);
      // No length, or an invalid or conflicting one: where the next message starts is unknown (RFC 3261 §18.3).
      if (head.contentLength === undefined) return this.fail(head.error ?? 'missing Content-Length', head);
      const total = end + 4 - off + head.contentLength;
      if (total > this.limits.maxMessageBytes) return this.fail('message too large', head);
      if (buf.length - off < total) {
        // Wait for the body; the head is parsed again when it is complete (rare: bodies are small).
        this.scanFrom = off;
        break;
      }
      const body = head.contentLength ? buf.toString('latin1', end + 4, off + total) : '';
      off += total;
      this.events.message(head, body, total);
      if (this.dead || this.buf !== buf) return; // closed by the handler
    }
    if (this.dead) return;
    if (off >= buf.length) {
      this.buf = undefined;
      this.scanFrom = 0;
    } else if (off > 0) {
      this.scanFrom = Math.max(0, this.scanFrom - off);
      buf = buf.subarray(off);
      this.buf = buf;
    }
  }

  /** True while part of a message is buffered (a partial double-CRLF ping does not count). */
  get holdsPartialMessage(): boolean {
    const b = this.buf;
    return !this.dead && b !== undefined && b.length > 0 && !(b.length < 4 && isCrlfPrefix(b, 0));
  }

  /** Stops framing (the connection is closing). */
  close(): void {
    this.dead = true;
    this.buf = undefined;
  }
}

function isCrlfPrefix(buf: Buffer, off: number): boolean {
  const ping = [CR, LF, CR, LF];
  for (let i = off, j = 0; i < buf.length; i++, j++) if (buf[i] !== ping[j]) return false;
  return true;
}
