/**
 * Two connected in-memory duplex streams that stand in for the TCP connection between
 * drachtio-srf and the edge when both run in one process: bytes written on one end are
 * read on the other, in order, on a later tick (never inside the writer's call, so neither
 * side's handlers run re-entrantly). No system call, no copy, no wake-up of another process.
 *
 * Each end carries the few net.Socket members its users touch: setNoDelay/setKeepAlive
 * (no-ops), the address fields drachtio-srf keys its connections by, and a `connect` event.
 */
import { Duplex } from 'node:stream';

let nextPort = 1;

export class InProcessSocket extends Duplex {
  peer!: InProcessSocket;
  readonly remoteAddress = 'in-process';
  readonly localAddress = 'in-process';
  /** drachtio-srf (as patched in patches/) takes a stream with this mark for a socket. */
  readonly inProcess = true;

  constructor(
    readonly localPort: number,
    readonly remotePort: number,
  ) {
    super({ allowHalfOpen: true });
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    // Data is pushed by the peer's writes; nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    process.nextTick(() => {
      if (!peer.destroyed) peer.push(chunk);
    });
    callback();
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this._write(data, 'latin1', callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    process.nextTick(() => {
      if (!peer.destroyed) peer.push(null);
    });
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    process.nextTick(() => peer.destroy());
    callback(err);
  }
}

/** A connected pair: `[client, server]`. The client emits `connect` on the next tick, as a TCP socket would. */
export function socketPair(): [InProcessSocket, InProcessSocket] {
  const a = nextPort++;
  const b = nextPort++;
  const client = new InProcessSocket(a, b);
  const server = new InProcessSocket(b, a);
  client.peer = server;
  server.peer = client;
  process.nextTick(() => client.emit('connect'));
  return [client, server];
}
