import type { TransportName } from '../transport/address';

/**
 * Where the responses of a transaction go (RFC 3261 §18.2.2): the connection a
 * stream request came on, or the UDP source address and port (RFC 3581 rport).
 */
export interface ReplyChannel {
  readonly transport: TransportName;
  /** TCP and TLS are reliable: no retransmissions, Timer J is zero. */
  readonly reliable: boolean;
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
