/**
 * The UDP listener (RFC 3261 §18): one datagram is one message, responses go
 * to the source address and port (RFC 3581 §4).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ChannelOrigin, DatagramChannel } from '../transaction/reply-channel';
import { BoundAddress, normalizeAddress } from './address';

/** Socket receive buffer asked of the kernel, so that bursts are not dropped (the kernel may cap it). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Every response goes to an address literal (the source of its request), which
 * dns.lookup answers only on the next tick, after allocating for it; a literal
 * is answered here at once, anything else goes to dns.lookup.
 */
const literalFirst: NonNullable<dgram.SocketOptions['lookup']> = (host, options, callback) => {
  const family = isIP(host);
  if (family) callback(null, host, family);
  else dns.lookup(host, options, callback);
};

/** Reply channel to one UDP source. */
class UdpChannel implements DatagramChannel {
  readonly transport = 'udp' as const;
  readonly reliable = false;
  constructor(
    readonly origin: ChannelOrigin,
    private readonly socket: dgram.Socket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    readonly wireAddress: string,
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
    onDatagram: (data: Buffer, channel: DatagramChannel) => void,
  ): Promise<UdpTransport> {
    const type = address.indexOf(':') === -1 ? 'udp4' : 'udp6';
    const socket = dgram.createSocket({ type, recvBufferSize: RECEIVE_BUFFER_BYTES, sendBufferSize: RECEIVE_BUFFER_BYTES, lookup: literalFirst });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.bind(port, address, () => {
        socket.off('error', onError);
        socket.on('error', (err) => log.warn({ err: err.message }, 'udp socket error'));
        const bound = socket.address();
        const t = new UdpTransport(socket, { address: bound.address, port: bound.port }, advertised);
        const origin: ChannelOrigin = {
          reopen: (wire, remotePort) => new UdpChannel(origin, socket, normalizeAddress(wire), remotePort, advertised, bound.port, wire),
        };
        socket.on('message', (data, rinfo) => onDatagram(data, origin.reopen(rinfo.address, rinfo.port)));
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
