import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived tokens for the event stream. Browsers' EventSource cannot send
 * X-Auth-Token, so a client holding a key mints a token for one account and
 * passes it as `?token=`: the key itself never appears in a URL (where proxies
 * and browser history keep it). Stateless: `st_<payload>.<HMAC-SHA256>`, payload
 * the account, the minting key and the expiry; every API process sharing
 * API_STREAM_TOKEN_SECRET verifies it. The minting key is re-checked when the
 * stream opens and while it runs, so revoking the key ends its tokens too.
 */

/** What a stream token grants. */
export interface StreamGrant {
  accountId: string;
  /** The API key that minted it. */
  keyId: string;
  /** Whether that key is an operator key. */
  operator: boolean;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

const PREFIX = 'st_';

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`stream-token:${payload}`).digest();
}

/** A token for `grant`, signed with `secret`. */
export function mintStreamToken(secret: string, grant: StreamGrant): string {
  const payload = Buffer.from(JSON.stringify([grant.accountId, grant.keyId, grant.operator ? 1 : 0, grant.expiresAt]), 'utf8').toString('base64url');
  return `${PREFIX}${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The grant of a token signed with `secret` and not expired at `now`, else null. */
export function verifyStreamToken(secret: string, token: string, now: number): StreamGrant | null {
  if (!token.startsWith(PREFIX) || token.length > 512) return null;
  const dot = token.indexOf('.');
  if (dot < 0) return null;
  const payload = token.slice(PREFIX.length, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = mac(secret, payload);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 4) return null;
    const [accountId, keyId, operator, expiresAt] = v as unknown[];
    if (typeof accountId !== 'string' || typeof keyId !== 'string' || typeof expiresAt !== 'number' || (operator !== 0 && operator !== 1)) return null;
    if (expiresAt <= now) return null;
    return { accountId, keyId, operator: operator === 1, expiresAt };
  } catch {
    return null;
  }
}
