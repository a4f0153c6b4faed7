/**
 * The UDP listener (RFC 3261 §18): one datagram is one message, responses go
 * to the source address and port (RFC 3581 §4).
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { ReplyChannel } from '../transaction/reply-channel';
import { BoundAddress, normalizeAddress } from './address';

/** Socket receive buffer asked of the kernel, so that bursts are not dropped (the kernel may cap it). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Reply channel to one UDP source. */
export class UdpChannel implements ReplyChannel {
  readonly transport = 'udp' as const;
  readonly reliable = false;
  constructor(
    private readonly socket: dgram.Socket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly wireAddress: string,
  ) {}

  send(data: Buffer): boolean {
    try {
      this.socket.send(data, this.remotePort, this.wireAddress);
      return true;
    } catch {
      return false; // socket closed while stopping
    }
  }
}

/** A bound UDP socket that hands each datagram and its reply channel to `onDatagram`. */
export class UdpTransport {
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: BoundAddress,
    readonly advertised: string,
  ) {}

  /** Binds `address:port` (port 0: any free port). */
  static bind(
    address: string,
    port: number,
    advertised: string,
    log: Logger,
    onDatagram: (data: Buffer, channel: UdpChannel) => void,
  ): Promise<UdpTransport> {
    const type = address.indexOf(':') === -1 ? 'udp4' : 'udp6';
    const socket = dgram.createSocket({ type, recvBufferSize: RECEIVE_BUFFER_BYTES, sendBufferSize: RECEIVE_BUFFER_BYTES });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.bind(port, address, () => {
        socket.off('error', onError);
        socket.on('error', (err) => log.warn({ err: err.message }, 'udp socket error'));
        const bound = socket.address();
        const t = new UdpTransport(socket, { address: bound.address, port: bound.port }, advertised);
        socket.on('message', (data, rinfo) => {
          const remote = normalizeAddress(rinfo.address);
          onDatagram(data, new UdpChannel(socket, remote, rinfo.port, advertised, bound.port, rinfo.address));
        });
        resolve(t);
      });
    });
  }

  /** Closes the socket; safe to call twice. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
