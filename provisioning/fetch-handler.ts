import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CredentialCipher, ha1Md5, ha1Sha256 } from '../shared/credentials';
import type { Queryable } from '../shared/db';
import { buildChallenges, DigestCredentials, NonceService, parseAuthorization, verifyResponse } from '../shared/digest';
import type { Logger } from '../shared/logger';
import { fileFor, RenderedFile } from '../shared/provisioning/files';
import {
  accountByUsername,
  AccountProvisioning,
  markProvisioned,
  ProvisioningRecord,
  recordByMac,
  recordByTokenHash,
  recordPassword,
  tokenHash,
  TOKEN_SHAPE,
} from '../shared/provisioning/provisioning-store';
import { RequestedFile, requestedFile, storedMac, userAgentAllows } from '../shared/provisioning/requests';
import type { SipBlocks } from '../shared/sip-blocks';
import type { SipDefaults } from '../shared/sip-connection';
import type { NonceCounts } from './nonce-counts';
import type { FetchSource, ProvisioningEvents } from './provisioning-events';

/** A configuration request as the HTTP layer hands it over. */
export interface FetchRequest {
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  authorization: string | undefined;
  userAgent: string | undefined;
  /** The client's address (X-Forwarded-For only from a trusted proxy). */
  sourceIp: string;
  /** Over HTTPS (directly, or from a trusted TLS proxy). */
  secure: boolean;
}

export interface FetchAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface FetchHandlerDeps {
  db: Queryable;
  cipher: CredentialCipher;
  nonces: NonceService;
  nonceCounts: NonceCounts;
  /** Failed authentications per source; null: no limit. */
  blocks: SipBlocks | null;
  blockS: number;
  events: ProvisioningEvents;
  sip: SipDefaults;
  realm: string;
  log: Logger;
  now: () => number;
  /** Called with the outcome of each request (metrics). */
  onOutcome?: (outcome: string) => void;
}

const text = (status: number, body: string, headers: Record<string, string | string[]> = {}): FetchAnswer => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers },
  body: `${body}\n`,
});

/** Where the file name and an optional path token are in a request target: `…/[t/<token>/]<file>`. */
export function parseTarget(target: string): { file: RequestedFile | null; token: string | null } | null {
  const path = target.split('?')[0]!;
  if (path.length > 512 || !path.startsWith('/')) return null;
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
  const name = segments[segments.length - 1] ?? '';
  const token = segments.length >= 3 && segments[segments.length - 3] === 't' ? segments[segments.length - 2]! : null;
  return { file: requestedFile(name), token };
}

/**
 * Answers one configuration fetch (docs/provisioning.md, "Authentication"): the file
 * for the MAC it names, to a phone that proves its account's provisioning
 * credentials (Digest; Basic over HTTPS only) or presents the device's path token.
 * Wrong credentials, a MAC no device has and another account's MAC get the same
 * answer (401 with a fresh challenge; 404 on a token path), so nothing can be learnt
 * about other accounts' devices; only wrong credentials count towards a block.
 */
export class FetchHandler {
  constructor(private readonly deps: FetchHandlerDeps) {}

  private outcome(name: string): void {
    this.deps.onOutcome?.(name);
  }

  async handle(req: FetchRequest): Promise<FetchAnswer> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.outcome('method_not_allowed');
      return text(405, 'Only GET is served here.', { Allow: 'GET, HEAD' });
    }
    const parsed = parseTarget(req.target);
    if (!parsed?.file) {
      this.outcome('no_such_file');
      return text(404, 'No such file.');
    }
    const { file, token } = parsed;
    const src: FetchSource = { sourceIp: req.sourceIp, userAgent: req.userAgent, file: file.name };
    if (!userAgentAllows(req.userAgent, file.mac)) {
      // The answer comes from the request alone (the lookup only records the event): nothing about stored devices shows.
      const record = await recordByMac(this.deps.db, storedMac(file.mac));
      if (record) this.deps.events.failedOnDevice(record.deviceId, record.accountId, src, 'mac_mismatch');
      this.outcome('mac_mismatch');
      return text(403, 'The User-Agent names another MAC address than the file asked for.');
    }
    if (this.deps.blocks && (await this.deps.blocks.isBlocked(req.sourceIp))) {
      this.outcome('blocked');
      return text(429, 'Too many failed authentications from this address; try again later.', { 'Retry-After': String(this.deps.blockS) });
    }
    if (token !== null) return this.byToken(req, file, token, src);
    return this.byCredentials(req, file, src);
  }

  /** `…/t/<token>/<file>`: the token names the device; any mismatch is the same 404. */
  private async byToken(req: FetchRequest, file: RequestedFile, token: string, src: FetchSource): Promise<FetchAnswer> {
    const record = TOKEN_SHAPE.test(token) ? await recordByTokenHash(this.deps.db, tokenHash(token)) : null;
    if (!record || record.macAddress !== storedMac(file.mac)) {
      await this.failure(req, 'token', src);
      this.outcome('bad_token');
      return text(404, 'No such file.');
    }
    return this.serve(req, file, record, src);
  }

  private async byCredentials(req: FetchRequest, file: RequestedFile, src: FetchSource): Promise<FetchAnswer> {
    const { realm, now } = this.deps;
    const basic = req.secure ? basicCredentials(req.authorization) : null;
    const digest = basic ? undefined : parseAuthorization(req.authorization).find((c) => c.realm === realm);
    if (!basic && !digest) {
      this.outcome('challenged');
      return this.challenge(req, false);
    }
    const username = basic?.username ?? digest!.username;
    // Both lookups always run, whatever the credentials: the time taken tells nothing either.
    const [account, record] = await Promise.all([
      username.length <= 64 ? accountByUsername(this.deps.db, this.deps.cipher, username) : Promise.resolve(null),
      recordByMac(this.deps.db, storedMac(file.mac)),
    ]);
    let verified: boolean;
    if (basic) {
      verified = passwordsMatch(basic.password, account?.password);
    } else {
      const cred = digest!;
      const nonce = this.deps.nonces.check(cred.nonce, realm, now());
      if (!nonce.ok && nonce.reason !== 'expired') {
        // A nonce this server never issued: not an answer to our challenge, so not a failed one either.
        this.outcome('challenged');
        return this.challenge(req, false);
      }
      verified = uriNamesFile(cred.uri, req.target) && verifyDigest(cred, account, realm, req.method);
      if (verified && !nonce.ok) {
        this.outcome('stale_nonce');
        return this.challenge(req, true);
      }
      if (verified && !(await this.deps.nonceCounts.firstUse(cred.nonce, cred.nc ?? null))) {
        // A replayed Authorization (same nonce and nonce-count): challenge again, without counting a failure.
        this.outcome('replay');
        return this.challenge(req, false);
      }
    }
    if (!verified || !account) {
      await this.failure(req, username, src);
      if (record && record.httpUsername === username) this.deps.events.failedOnDevice(record.deviceId, record.accountId, src, 'wrong_password');
      this.outcome('wrong_credentials');
      return this.challenge(req, false);
    }
    if (!record || record.accountId !== account.accountId) {
      this.deps.events.unknownMac(account.accountId, src, storedMac(file.mac));
      this.outcome('unknown_mac');
      return this.challenge(req, false);
    }
    return this.serve(req, file, record, src);
  }

  /** The file of an authenticated request's device. */
  private async serve(req: FetchRequest, file: RequestedFile, record: ProvisioningRecord, src: FetchSource): Promise<FetchAnswer> {
    const { events } = this.deps;
    if (record.status !== 'active') {
      events.failedOnDevice(record.deviceId, record.accountId, src, 'device_inactive');
      this.outcome('device_inactive');
      return text(403, 'This device is inactive.');
    }
    const rendered = fileFor(record, file, () => recordPassword(this.deps.cipher, record), this.deps.sip);
    if (rendered.kind === 'unknown_manufacturer') {
      events.failedOnDevice(record.deviceId, record.accountId, src, 'unknown_manufacturer', { manufacturer: record.manufacturer ?? '' });
      this.outcome('unknown_manufacturer');
      return text(404, `No provisioning template for manufacturer "${oneLine(record.manufacturer ?? '')}" (set the device's manufacturer: docs/provisioning.md lists the vendors).`);
    }
    if (rendered.kind === 'not_for_vendor') {
      events.failedOnDevice(record.deviceId, record.accountId, src, 'file_not_for_vendor', { vendor: rendered.vendor });
      this.outcome('file_not_for_vendor');
      return text(404, `This device's vendor (${rendered.vendor}) does not use this file name.`);
    }
    await markProvisioned(this.deps.db, record.deviceId, new Date(this.deps.now()));
    events.provisioned(record.deviceId, record.accountId, src, rendered.file.vendor);
    this.outcome('provisioned');
    return fileAnswer(rendered.file, req.method);
  }

  /** Counts a failed authentication from the request's source; a block it causes is an event. */
  private async failure(req: FetchRequest, user: string, src: FetchSource): Promise<void> {
    if (!this.deps.blocks) return;
    const out = await this.deps.blocks.recordFailure(req.sourceIp, user.slice(0, 64));
    if (out.blocked) this.deps.events.blocked(src, out.sourceFailures);
  }

  private challenge(req: FetchRequest, stale: boolean): FetchAnswer {
    const { nonces, realm, now } = this.deps;
    // MD5 only: it is what phones' provisioning clients do; a SHA-256 challenge first would be tried by none.
    const challenges = buildChallenges({ realm, nonce: nonces.issue(realm, now()), opaque: nonces.opaque(realm), stale, md5Only: true });
    if (req.secure) challenges.push(`Basic realm="${realm}", charset="UTF-8"`);
    return text(401, 'Authentication required.', { 'WWW-Authenticate': challenges });
  }
}

function fileAnswer(file: RenderedFile, method: string): FetchAnswer {
  return {
    status: 200,
    headers: { 'Content-Type': file.contentType, 'Cache-Control': 'no-store' },
    body: method === 'HEAD' ? '' : file.body,
  };
}

function oneLine(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

/** The digest `uri` must name the file requested (its path may differ by a proxy's prefix). */
function uriNamesFile(uri: string, target: string): boolean {
  const wanted = target.split('?')[0]!;
  const given = uri.split('?')[0]!;
  // Both start with '/', so a match of one's end is on a segment boundary.
  return given.startsWith('/') && (given.endsWith(wanted) || wanted.endsWith(given));
}

/** Verifies a Digest answer; with no such account a random HA1 is tried, so the work is the same. */
function verifyDigest(cred: DigestCredentials, account: AccountProvisioning | null, realm: string, method: string): boolean {
  const ha1 = account
    ? (cred.algorithm === 'MD5' ? ha1Md5 : ha1Sha256)(account.username, realm, account.password)
    : randomBytes(cred.algorithm === 'MD5' ? 16 : 32).toString('hex');
  return verifyResponse(cred, [ha1], method) && account !== null;
}

/** `Authorization: Basic …` as username and password, or null. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]{1,512})\s*$/i.exec(header) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Constant-time comparison of a presented password with the stored one (absent: never equal). */
function passwordsMatch(given: string, stored: string | undefined): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(stored ?? randomBytes(16).toString('hex'), 'utf8').digest();
  return timingSafeEqual(a, b) && stored !== undefined;
}
