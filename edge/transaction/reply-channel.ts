import type { TransportName } from '../transport/address';

/**
 * Where the responses of a transaction go (RFC 3261 §18.2.2): the connection a
 * stream request came on, or the UDP source address and port (RFC 3581 rport).
 */
interface ChannelBase {
  readonly transport: TransportName;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The listening socket the request arrived on (drachtio's `receivedOn`). */
  readonly localAddress: string;
  readonly localPort: number;
  /** Writes bytes; false when the connection is gone. Never throws. */
  send(data: Buffer): boolean;
  /** A stream connection counts transactions in flight so a half-closed socket stays open for their answers. */
  hold?(): void;
  release?(): void;
}

/** A TCP or TLS connection: reliable, so no retransmissions and Timer J is zero. */
export interface StreamChannel extends ChannelBase {
  readonly reliable: true;
}

/**
 * A UDP source. A completed transaction keeps it for Timer J as data (the address
 * the socket reported and the port) and makes it again through its origin.
 */
export interface DatagramChannel extends ChannelBase {
  readonly reliable: false;
  readonly origin: ChannelOrigin;
  /** The remote address as the socket reported it (before normalisation). */
  readonly wireAddress: string;
}

export type ReplyChannel = StreamChannel | DatagramChannel;

/** What makes datagram channels: one per listening UDP socket. */
export interface ChannelOrigin {
  reopen(wireAddress: string, remotePort: number): DatagramChannel;
}
