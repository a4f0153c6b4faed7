import type { Redis } from '../shared/redis';

/**
 * The nonce-counts the provisioning server has accepted (RFC 7616 §3.4), in Redis so
 * that a replayed Authorization is refused by every provisioning process.
 * Layout (P = key prefix): `Pprov:nc:<nonce>:<nc>` (`-` when the answer had no qop),
 * set once, expiring with the nonce.
 */
export class NonceCounts {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly lifetimeMs: number) {}

  /** True the first time this nonce and nonce-count are presented. */
  async firstUse(nonce: string, nc: string | null): Promise<boolean> {
    const key = `${this.prefix}prov:nc:${nonce}:${nc ?? '-'}`;
    return (await this.redis.set(key, '1', 'PX', this.lifetimeMs + 5_000, 'NX')) === 'OK';
  }
}
