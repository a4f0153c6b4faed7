/** Address helpers shared by the transports and the control protocol. */
import type net from 'node:net';
import { networkInterfaces } from 'node:os';

/** SIP transports the edge listens on. */
export type TransportName = 'udp' | 'tcp' | 'tls';

/** A bound socket address. */
export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

/** IPv4-mapped IPv6 addresses (dual-stack sockets) are reported as plain IPv4. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.') !== -1 ? address.slice(7) : address;
}

/** `host:port`, with brackets around an IPv6 address (RFC 3986 §3.2.2). */
export function hostPort(address: string, port: number): string {
  return address.indexOf(':') === -1 ? `${address}:${port}` : `[${address}]:${port}`;
}

/** True for `0.0.0.0` and `::`, which accept on every interface. */
function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/**
 * The address to advertise for a listener: the bind address, or for a
 * wildcard bind the first external interface of that family (loopback if none).
 */
export function advertisedAddress(bind: string): string {
  if (!isWildcard(bind)) return bind;
  const v6 = bind === '::';
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (!ni.internal && (ni.family === 'IPv4' || (v6 && ni.family === 'IPv6' && !ni.address.startsWith('fe80')))) {
        return ni.address;
      }
    }
  }
  return '127.0.0.1';
}

/** Starts `server` listening; resolves with the bound address, rejects if the bind fails. */
export function listen(server: net.Server, options: net.ListenOptions): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      const a = server.address() as net.AddressInfo;
      resolve({ address: a.address, port: a.port });
    });
  });
}
