import { createHash, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { splitHeaderList } from './header-list';

/**
 * Digest authentication, server side (RFC 3261 §22.4, RFC 7616, RFC 8760): SIP
 * REGISTER at the registrar, HTTP GET at the provisioning server.
 * Pure: hashing only, no I/O. Nonces are stateless: a timestamp and an HMAC over
 * it and the realm, so any registrar process sharing the secret can verify them;
 * replay protection (nonce-count) lives in Redis, outside this module.
 */

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** The only quality of protection offered (RFC 7616 §3.3). */
export const DIGEST_QOP = 'auth';

/** The credentials of one `Authorization: Digest …` header (RFC 7616 §3.4). */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** nonce-count as sent (8 hex digits). */
  nc?: string;
}

/** The auth-scheme that opens a credential (RFC 7235 §2.1: a token, then whitespace, then not '='). */
const SCHEME_START = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s+(?!=)/;

/**
 * Parses Authorization header values. drachtio-srf joins repeated headers with
 * ',', so one string may hold several credentials: each Digest one is returned.
 * Commas inside quoted strings separate nothing. Credentials of other schemes,
 * or lacking a mandatory field, are skipped; so are unknown algorithms (e.g.
 * `-sess`, SHA-512-256).
 */
export function parseAuthorization(value: string | undefined): DigestCredentials[] {
  const out: DigestCredentials[] = [];
  for (const params of digestParams(value)) {
    const cred = credentialsOf(params);
    if (cred) out.push(cred);
  }
  return out;
}

/**
 * The username and algorithm of a Digest credential for `realm` that names an
 * algorithm this registrar does not offer (parseAuthorization skips those), or
 * null. Lets the registrar tell a phone set to e.g. SHA-512-256 from one that
 * sent no credentials.
 */
export function unsupportedAlgorithm(value: string | undefined, realm: string): { username: string; algorithm: string } | null {
  for (const params of digestParams(value)) {
    const username = params.get('username');
    const algorithm = params.get('algorithm');
    if (username === undefined || algorithm === undefined || params.get('realm')?.toLowerCase() !== realm) continue;
    const alg = algorithm.toUpperCase();
    if (alg !== 'MD5' && alg !== 'SHA-256') return { username, algorithm: algorithm.slice(0, 32) };
  }
  return null;
}

/** The auth-params of each Digest credential in Authorization header values. */
function digestParams(value: string | undefined): Map<string, string>[] {
  if (!value) return [];
  const elements = splitHeaderList(value);
  if (!elements) return [];
  // Group the comma-separated elements into credentials: each starts with its scheme.
  const groups: { scheme: string; params: string[] }[] = [];
  for (const el of elements) {
    const m = SCHEME_START.exec(el);
    if (m) groups.push({ scheme: m[1]!.toLowerCase(), params: [el.slice(m[0].length)] });
    else if (groups.length) groups[groups.length - 1]!.params.push(el);
  }
  const out: Map<string, string>[] = [];
  for (const group of groups) {
    if (group.scheme !== 'digest') continue;
    const params = authParams(group.params);
    if (params) out.push(params);
  }
  return out;
}

function credentialsOf(params: Map<string, string>): DigestCredentials | null {
  const username = params.get('username');
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  const uri = params.get('uri');
  const response = params.get('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) return null;
  const alg = (params.get('algorithm') ?? 'MD5').toUpperCase();
  if (alg !== 'MD5' && alg !== 'SHA-256') return null;
  const cred: DigestCredentials = { username, realm, nonce, uri, response: response.toLowerCase(), algorithm: alg };
  const cnonce = params.get('cnonce');
  const opaque = params.get('opaque');
  const qop = params.get('qop');
  const nc = params.get('nc');
  if (cnonce !== undefined) cred.cnonce = cnonce;
  if (opaque !== undefined) cred.opaque = opaque;
  if (qop !== undefined) cred.qop = qop; // as sent: the response hashes unq(qop) (RFC 7616 §3.4.1)
  if (nc !== undefined) cred.nc = nc;
  return cred;
}

/** Reads `a=b`, `c="d"` auth-param elements (RFC 7235 §2.1); names lower-cased. Null on bad syntax. */
function authParams(elements: readonly string[]): Map<string, string> | null {
  const params = new Map<string, string>();
  for (const el of elements) {
    const eq = el.indexOf('=');
    if (eq <= 0) return null;
    const name = el.slice(0, eq).trim().toLowerCase();
    let v = el.slice(eq + 1).trim();
    if (v.startsWith('"')) {
      if (v.length < 2 || !v.endsWith('"')) return null;
      v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    if (!params.has(name)) params.set(name, v);
  }
  return params;
}

/** True when the credentials use qop=auth (compared case-insensitively; RFC 7616 §3.4). */
export function usesQopAuth(cred: DigestCredentials): boolean {
  return cred.qop !== undefined && cred.qop.toLowerCase() === DIGEST_QOP;
}

function hashHex(algorithm: DigestAlgorithm, data: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(data, 'utf8').digest('hex');
}

/** HA2 of `cred` for a request with `method` (RFC 7616 §3.4.3, qop=auth or none). */
export function ha2Of(cred: DigestCredentials, method: string): string {
  return hashHex(cred.algorithm, `${method}:${cred.uri}`);
}

/**
 * The expected `response` for `cred` given the stored HA1 and the request's HA2
 * (RFC 7616 §3.4.1; without qop, the RFC 2069 form RFC 3261 §22.4 still allows).
 * HA1 is what the devices table stores (shared/credentials.ts).
 */
export function expectedResponse(cred: DigestCredentials, ha1: string, ha2: string): string {
  if (usesQopAuth(cred)) {
    return hashHex(cred.algorithm, `${ha1}:${cred.nonce}:${cred.nc ?? ''}:${cred.cnonce ?? ''}:${cred.qop}:${ha2}`);
  }
  return hashHex(cred.algorithm, `${ha1}:${cred.nonce}:${ha2}`);
}

/** Constant-time comparison of the client's response with the expected one (both hex). */
export function responsesMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  // Only hex digits can match: latin1 would keep the low byte of any other character.
  const b = Buffer.from(/^[0-9a-f]*$/.test(given) ? given : '', 'latin1');
  if (a.length !== b.length) {
    // Still spend a comparison so a length mismatch is not faster to detect.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** True when any of the candidate HA1s produces the client's response (current and grace-period credentials). */
export function verifyResponse(cred: DigestCredentials, ha1Candidates: readonly string[], method: string): boolean {
  let ok = false;
  const ha2 = ha2Of(cred, method); // once for every candidate
  for (const ha1 of ha1Candidates) {
    // No early exit: every candidate costs the same, whatever matches.
    if (responsesMatch(expectedResponse(cred, ha1, ha2), cred.response)) ok = true;
  }
  return ok;
}

/** The nonce-count as a number, or null when absent or malformed (RFC 7616 §3.4: 8 hex digits). */
export function parseNonceCount(nc: string | undefined): number | null {
  if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return null;
  return parseInt(nc, 16);
}

const NONCE_TS_BYTES = 6;
/** Random bytes in each nonce: two challenges issued in the same millisecond must still differ (their nonce-counts are tracked apart). */
const NONCE_RANDOM_BYTES = 6;
const NONCE_MAC_BYTES = 16;
const NONCE_BYTES = NONCE_TS_BYTES + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES;
/** base64url length of a nonce (no padding). */
const NONCE_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);

/** Random bytes drawn this many at a time: one randomBytes() call per nonce cost more than its HMAC. */
const RANDOM_POOL_BYTES = 4096;

export type NonceCheck =
  | { ok: true; issuedAt: number }
  | { ok: false; reason: 'malformed' | 'forged' | 'expired'; issuedAt?: number };

/**
 * Issues and checks stateless nonces:
 * base64url(timestamp ms (48 bits) ‖ 48 random bits ‖ HMAC-SHA-256(secret, realm ‖ timestamp ‖ random)[0..16]).
 * RFC 7616 §3.3 leaves the nonce format to the server; this one lets any process verify it.
 */
export class NonceService {
  private readonly secret: Buffer;
  /** opaque() by realm; realms are the served domains (others get 404 before any challenge). */
  private readonly opaques = new Map<string, string>();
  /** CSPRNG output not handed out yet: bytes from `randomAt` on; each byte is used once. */
  private readonly random = Buffer.alloc(RANDOM_POOL_BYTES);
  private randomAt = RANDOM_POOL_BYTES;

  constructor(secret: string, private readonly lifetimeMs: number) {
    this.secret = Buffer.from(secret, 'utf8');
  }

  private mac(realm: string, body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(realm, 'utf8').update('\0').update(body).digest().subarray(0, NONCE_MAC_BYTES);
  }

  issue(realm: string, now: number): string {
    const nonce = Buffer.allocUnsafe(NONCE_BYTES);
    nonce.writeUIntBE(Math.max(0, Math.floor(now)), 0, NONCE_TS_BYTES);
    if (this.randomAt + NONCE_RANDOM_BYTES > RANDOM_POOL_BYTES) {
      randomFillSync(this.random);
      this.randomAt = 0;
    }
    this.randomAt += this.random.copy(nonce, NONCE_TS_BYTES, this.randomAt, this.randomAt + NONCE_RANDOM_BYTES);
    const body = nonce.subarray(0, NONCE_TS_BYTES + NONCE_RANDOM_BYTES);
    this.mac(realm, body).copy(nonce, body.length);
    return nonce.toString('base64url');
  }

  check(nonce: string, realm: string, now: number): NonceCheck {
    if (nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { ok: false, reason: 'malformed' };
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES) return { ok: false, reason: 'malformed' };
    const body = raw.subarray(0, NONCE_TS_BYTES + NONCE_RANDOM_BYTES);
    if (!timingSafeEqual(raw.subarray(NONCE_TS_BYTES + NONCE_RANDOM_BYTES), this.mac(realm, body))) return { ok: false, reason: 'forged' };
    const issuedAt = body.readUIntBE(0, NONCE_TS_BYTES);
    // A nonce from the future (clock skew between processes beyond 5 s) is treated as forged.
    if (issuedAt > now + 5_000) return { ok: false, reason: 'forged' };
    if (now - issuedAt > this.lifetimeMs) return { ok: false, reason: 'expired', issuedAt };
    return { ok: true, issuedAt };
  }

  /** The opaque value of a realm (RFC 7616 §3.3): constant per realm, so no state is needed to check it. */
  opaque(realm: string): string {
    let value = this.opaques.get(realm);
    if (value === undefined) {
      value = createHmac('sha256', this.secret).update('opaque\0').update(realm, 'utf8').digest().subarray(0, 12).toString('base64url');
      this.opaques.set(realm, value);
    }
    return value;
  }
}

/**
 * WWW-Authenticate values for a 401 (RFC 7616 §3.3, RFC 8760 §2.4): SHA-256
 * first, then MD5 (or MD5 alone), qop="auth", an opaque, and stale=true when the
 * previous answer was right but its nonce had expired.
 */
export function buildChallenges(opts: { realm: string; nonce: string; opaque: string; stale: boolean; md5Only: boolean }): string[] {
  const algorithms: DigestAlgorithm[] = opts.md5Only ? ['MD5'] : ['SHA-256', 'MD5'];
  return algorithms.map(
    (alg) =>
      `Digest realm="${opts.realm}", nonce="${opts.nonce}", opaque="${opts.opaque}", algorithm=${alg}, qop="${DIGEST_QOP}"` +
      (opts.stale ? ', stale=true' : ''),
  );
}
