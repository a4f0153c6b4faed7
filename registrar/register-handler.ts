import type { AuthFailureReason } from '../shared/events/catalog';
import type { Logger } from '../shared/logger';
import type { BindingSnapshot, RegistrationStore } from '../shared/registration-store';
import type { SipBlocks } from '../shared/sip-blocks';
import {
  Aor,
  BindingLimits,
  canonicalAor,
  contactsForResponse,
  ExpiryPolicy,
  parseContactRequest,
  planRegistration,
  RequestContext,
  sipDate,
} from './bindings';
import { ALLOWED_METHODS, MAX_CALL_ID_BYTES, MAX_PATH_BYTES, MAX_USER_AGENT_CHARS, SUPPORTED_OPTIONS } from './constants';
import { CredentialCache, CredentialLookup, ha1Candidates, tombstoneHa1 } from './credential-cache';
import { buildChallenges, NonceService, parseAuthorization, parseNonceCount, unsupportedAlgorithm, usesQopAuth, verifyResponse } from '../shared/digest';
import { BadExtensionError, BadRequestError, RegistrarError, ServiceUnavailableError } from './errors';
import type { RegistrarMetrics } from './metrics';
import type { RegistrationEvents, Subject } from './registration-events';
import { optionTags, parseNameAddr, parseSipUri, splitHeaderList } from './sip-syntax';
import { Header, InboundRequest, Outcome, reply } from './sip-types';
import type { DomainSet } from './credential-cache';

/** Settings of the REGISTER handler (from the Registrar config section). */
export interface RegisterSettings {
  expiry: ExpiryPolicy;
  limits: BindingLimits;
  nonceLifetimeMs: number;
  md5Only: boolean;
  blockedResponse: 'drop' | '403';
  retryAfterS: number;
  /** Lower-cased User-Agent fragments of known scanners. */
  scannerUserAgents: string[];
}

export interface RegisterDeps {
  store: RegistrationStore;
  blocks: SipBlocks;
  credentials: CredentialCache;
  domains: DomainSet;
  nonces: NonceService;
  metrics: RegistrarMetrics;
  events: RegistrationEvents;
  log: Logger;
  now: () => number;
}

/** The device a SIP identity names (a deleted one's too); `live` when it still exists (its lastFailure can be recorded). */
type NamedDevice = Subject & { live: boolean };

/** What one REGISTER has learnt of who it concerns, for the events of a failure (built up as cheaply as the success path allows). */
interface RequestScope {
  subject: NamedDevice | null;
  /** Whether the request proved the password: events before that are rate limited per device. */
  verified: boolean;
  realm?: string;
  /** The digest username, once the credentials are read. */
  username?: string;
  /** The address-of-record in To, when it parses. */
  to?: Aor | null;
}

/** `user@domain` a request names (its digest username, else its To), for events of no device. */
function sipUserOf(scope: RequestScope): string | undefined {
  if (scope.username !== undefined) return `${scope.username}@${scope.realm}`;
  if (scope.to) return `${scope.to.user}@${scope.to.host}`;
  return scope.realm !== undefined ? `@${scope.realm}` : undefined;
}

/** The device a credential lookup found. */
function namedDevice({ device, tombstone }: CredentialLookup): NamedDevice | null {
  if (device) return { deviceId: device.id, accountId: device.accountId, live: true };
  return tombstone ? { deviceId: tombstone.deviceId, accountId: tombstone.accountId, live: false } : null;
}

/** Commit attempts before a REGISTER racing other writers of the same device gives up (500). */
const MAX_COMMIT_ATTEMPTS = 5;

/** An HA1 no stored credential equals, so an unknown user costs the same hashing as a known one. */
const DUMMY_HA1 = '0'.repeat(64);

const SUPPORTED_HEADER: Header = ['Supported', SUPPORTED_OPTIONS.join(', ')];

/**
 * The registrar: RFC 3261 §10.3 processing of REGISTER, and OPTIONS keep-alives.
 * Orchestrates the pure rules (bindings.ts, digest.ts) with the state in Redis
 * (RegistrationStore, SipBlocks) and PostgreSQL (CredentialCache), and reports
 * each outcome as events (RegistrationEvents) and metrics.
 */
export class RegisterHandler {
  constructor(private readonly deps: RegisterDeps, private readonly settings: RegisterSettings) {}

  private isScanner(req: InboundRequest): boolean {
    const ua = req.header('user-agent');
    if (!ua) return false;
    const lower = ua.toLowerCase();
    return this.settings.scannerUserAgents.some((s) => lower.includes(s));
  }

  private blockedOutcome(): Outcome {
    return this.settings.blockedResponse === 'drop' ? { kind: 'drop', reason: 'blocked' } : reply(403, 'Forbidden');
  }

  /** OPTIONS keep-alive (RFC 3261 §11.2): 200 with Allow; scanners and blocked sources get nothing. */
  async handleOptions(req: InboundRequest): Promise<Outcome> {
    if (this.isScanner(req)) return { kind: 'drop', reason: 'scanner' };
    try {
      if (await this.deps.blocks.isBlocked(req.sourceAddress)) return this.blockedOutcome();
    } catch {
      // Redis down: a keep-alive still gets its answer.
    }
    return reply(200, 'OK', [['Allow', ALLOWED_METHODS], ['Accept', 'application/sdp'], SUPPORTED_HEADER]);
  }

  /** REGISTER (RFC 3261 §10.3). Never throws: every failure becomes an answer or a drop. */
  async handleRegister(req: InboundRequest): Promise<Outcome> {
    const scope: RequestScope = { subject: null, verified: false };
    try {
      return await this.register(req, scope);
    } catch (err) {
      if (err instanceof RegistrarError && !(err instanceof ServiceUnavailableError)) {
        // A request refused (400, 420, 423, 503 past the binding limit): the device's history says why.
        const reason = err.code.toLowerCase();
        this.count('rejected', reason);
        if (this.deps.events.rejected(req, scope.subject, err.status, reason, scope.verified, sipUserOf(scope))) this.noteFailure(req, scope, reason);
        return reply(err.status, err.reason, [...err.headers]);
      }
      this.count('unavailable');
      if (err instanceof ServiceUnavailableError) return reply(err.status, err.reason, [...err.headers]);
      this.deps.log.error({ err: (err as Error).message, source: req.sourceAddress }, 'REGISTER failed on a backing service');
      return reply(503, 'Service Unavailable', [['Retry-After', String(this.settings.retryAfterS)]]);
    }
  }

  /** Counts the REGISTER's outcome (and an auth_failed one by its reason too). */
  private count(outcome: string, reason = ''): void {
    this.deps.metrics.registrations.inc({ outcome, reason });
    if (outcome === 'auth_failed') this.deps.metrics.authFailures.inc({ reason });
  }

  private challenge(realm: string, stale: boolean): Outcome {
    const { nonces, now } = this.deps;
    const nonce = nonces.issue(realm, now());
    const challenges = buildChallenges({ realm, nonce, opaque: nonces.opaque(realm), stale, md5Only: this.settings.md5Only });
    return reply(401, 'Unauthorized', challenges.map((c) => ['WWW-Authenticate', c] as const));
  }

  /** Records a failure as the device's lastFailure (in the background: the answer does not wait for it). */
  private noteFailure(req: InboundRequest, scope: RequestScope, reason: string): void {
    if (!scope.subject?.live) return;
    const deviceId = scope.subject.deviceId;
    this.deps.store
      .recordFailure(deviceId, { at: this.deps.now(), reason, sourceIp: req.sourceAddress })
      .catch((err: Error) => this.deps.log.debug({ err: err.message, deviceId }, 'could not record the last failure'));
  }

  /** 403 to an authenticated device that may not register (RFC 3261 §10.3 step 4): an authorisation failure, not counted for blocking. */
  private forbidden(req: InboundRequest, scope: RequestScope, reason: AuthFailureReason): Outcome {
    this.count('auth_failed', reason);
    if (this.deps.events.authFailed(req, scope.subject, reason, sipUserOf(scope) ?? '', true, 403)) this.noteFailure(req, scope, reason);
    return reply(403, 'Forbidden');
  }

  private async register(req: InboundRequest, scope: RequestScope): Promise<Outcome> {
    const { deps, settings } = this;
    if (this.isScanner(req)) {
      this.count('dropped', 'scanner');
      return { kind: 'drop', reason: 'scanner' };
    }
    // A blocked source gets nothing useful, whatever it sends (no challenge, no 400/403/404).
    if (await deps.blocks.isBlocked(req.sourceAddress)) {
      this.count('blocked');
      return this.blockedOutcome();
    }

    const ruri = parseSipUri(req.uri);
    if (!ruri) throw new BadRequestError('INVALID_REQUEST_URI', 'Request-URI is not a SIP URI');
    const realm = ruri.host;
    scope.realm = realm;
    const to = canonicalAor(req.header('to'));
    scope.to = to;

    // RFC 3261 §10.3 step 1: only domains we serve; the answer says nothing else (docs/registrar.md).
    if (!(await deps.domains.serves(realm))) {
      this.count('rejected', 'unknown_domain');
      deps.events.rejected(req, null, 404, 'unknown_domain', false, sipUserOf(scope));
      return reply(404, 'Not Found');
    }

    // RFC 3261 §10.3 step 2: Require with options we do not support → 420.
    const unsupported = optionTags(req.header('require')).filter((t) => !(SUPPORTED_OPTIONS as readonly string[]).includes(t));
    if (unsupported.length) throw new BadExtensionError(unsupported);

    const callId = req.header('call-id');
    const cseqText = req.header('cseq');
    const cseqMatch = cseqText ? /^\s*(\d{1,10})\s+REGISTER\s*$/i.exec(cseqText) : null;
    if (!callId || !cseqMatch) throw new BadRequestError('INVALID_HEADERS', 'Call-ID or CSeq missing or malformed');
    if (Buffer.byteLength(callId) > MAX_CALL_ID_BYTES) throw new BadRequestError('CALL_ID_TOO_LONG', 'Call-ID too long');

    // RFC 3261 §10.3 step 3: authenticate (RFC 3261 §22, RFC 7616).
    const authorization = req.header('authorization');
    const cred = parseAuthorization(authorization).find((c) => c.realm.toLowerCase() === realm);
    if (!cred) return this.noCredentials(req, scope, realm, authorization);
    scope.username = cred.username;
    const now = deps.now();
    const nonce = deps.nonces.check(cred.nonce, realm, now);

    // RFC 7616 §3.4: with qop=auth the nonce-count and the cnonce are mandatory; without qop a nonce is good for one use.
    let nc: number | null = 1;
    if (cred.qop !== undefined) nc = usesQopAuth(cred) && cred.cnonce !== undefined ? parseNonceCount(cred.nc) : null;
    const opaqueOk = cred.opaque === undefined || cred.opaque === deps.nonces.opaque(realm);

    // A live device's credentials; with none, a deleted device's last HA1 (its tombstone); else a dummy.
    // One verification either way, so an unknown user costs the same as a known or deleted one.
    const found = await deps.credentials.lookup(realm, cred.username);
    const { device, tombstone } = found;
    scope.subject = namedDevice(found);

    // RFC 7616 §3.4.6: the digest-uri must be the Request-URI; a mismatch is a bad request.
    if (!sameUri(cred.uri, req.uri)) throw new BadRequestError('DIGEST_URI_MISMATCH', 'Authorization uri differs from the Request-URI');

    const candidates = device ? ha1Candidates(device, cred.algorithm, now) : tombstone ? [tombstoneHa1(tombstone, cred.algorithm)] : [DUMMY_HA1];
    const correct = verifyResponse(cred, candidates, req.method) && opaqueOk;

    // Who does not prove the password (a deleted device's included) is an unknown user: 401, counted.
    if (!scope.subject) return this.failure(req, scope, realm, 'unknown_user');
    if (nc === null) return this.failure(req, scope, realm, 'malformed_credentials');
    if (!correct) return this.failure(req, scope, realm, 'wrong_password');
    scope.verified = true;

    if (!nonce.ok) {
      // RFC 7616 §3.3 stale=true: the answer was right but the nonce is no longer ours to accept.
      this.count('challenged', 'stale_nonce');
      deps.events.staleNonce(req, scope.subject);
      return this.challenge(realm, true);
    }

    // RFC 3261 §10.3 step 4: authorisation. A deleted device that proved its old password is
    // authenticated but not authorised: 403 without a new challenge, so it stops retrying a
    // password that can never work, and not counted as a failed authentication (counting it
    // would end up blocking its address, and every other device behind the same NAT). Only
    // who knew the password learns that the device was deleted.
    if (device === null) return this.forbidden(req, scope, 'deleted_device_password');

    // RFC 3261 §10.3 step 4: authorisation. Inactive devices may not register at all.
    if (!device.active) return this.forbidden(req, scope, 'device_inactive');
    // RFC 3261 §10.3 step 5: the AOR from To, canonicalised; a device may only bind its own AOR.
    if (!to) throw new BadRequestError('INVALID_TO', 'To does not carry a SIP address-of-record');
    if (to.user !== device.sipUsername || to.host !== device.sipDomain.toLowerCase()) return this.forbidden(req, scope, 'aor_mismatch');

    // RFC 3261 §10.3 step 6: the contacts, and each one's expiry (423 here).
    const request = parseContactRequest(req.header('contact'), req.header('expires'), settings.expiry);
    const supported = optionTags(req.header('supported'));
    const ctx: RequestContext = {
      callId,
      cseq: Number(cseqMatch[1]),
      sourceAddress: req.sourceAddress,
      sourcePort: req.sourcePort,
      transport: req.transport,
      receivedOn: req.receivedOn,
      userAgent: (req.header('user-agent') ?? '').slice(0, MAX_USER_AGENT_CHARS),
    };
    const pathHeader = req.header('path');
    if (pathHeader) {
      if (Buffer.byteLength(pathHeader) > MAX_PATH_BYTES) throw new BadRequestError('PATH_TOO_LONG', 'Path too long');
      const path = splitHeaderList(pathHeader);
      // RFC 3327 §4: path-value = name-addr *( SEMI rr-param ), a SIP URI in angle brackets.
      if (!path || !path.every(isPathValue)) throw new BadRequestError('INVALID_PATH', 'Path does not parse');
      ctx.path = path; // RFC 3327 §5.3: stored with the binding
    }

    // One round trip: the nonce-count check (replay, RFC 7616 §3.4) and the device's bindings.
    const loaded = await deps.store.loadAuthenticated(device.id, { value: cred.nonce, issuedAt: nonce.issuedAt, nc, lifetimeMs: settings.nonceLifetimeMs });
    if (loaded.replay) return this.failure(req, scope, realm, 'nonce_replay');
    let snapshot: BindingSnapshot = loaded;

    // RFC 3261 §10.3 steps 6–7, committed atomically (optimistic concurrency on the device's version).
    for (let attempt = 1; ; attempt++) {
      const at = deps.now();
      const plan = planRegistration(snapshot.bindings, request, ctx, at, settings.limits);
      let bindings = plan.result;
      if (plan.upserts.length || plan.removals.length) {
        const result = await deps.store.commit(device.id, snapshot.version, {
          upserts: plan.upserts,
          removals: plan.removals,
          source: plan.upserts.length
            ? { ipAddress: req.sourceAddress, port: req.sourcePort, transport: req.transport, userAgent: ctx.userAgent }
            : undefined,
          succeeded: true,
        });
        if (!result.ok) {
          if (attempt >= MAX_COMMIT_ATTEMPTS) throw new Error('too many concurrent updates of one device');
          snapshot = await deps.store.load(device.id);
          continue;
        }
        bindings = result.bindings;
        // The 200 does not wait for the reaper index: the bindings are committed.
        result.indexed.catch((err: Error) => deps.log.warn({ err: err.message, deviceId: device.id }, 'committed, but the reaper index was not written'));
        for (const c of plan.changes) deps.metrics.bindingChanges.inc({ type: c.type });
        deps.events.bindingChanges(req, scope.subject, plan.changes);
      } else {
        // A query (or removing what was not bound) changes nothing but still succeeds.
        deps.store.clearFailure(device.id).catch((err: Error) => deps.log.debug({ err: err.message, deviceId: device.id }, 'could not clear the last failure'));
      }
      this.count('ok');
      // RFC 3261 §10.3 step 8: 200 with every current binding, Date, and (RFC 3327 §5.3) the Path when supported.
      const headers: Header[] = [];
      const contacts = contactsForResponse(bindings, at);
      if (contacts.length) headers.push(['Contact', contacts.join(', ')]);
      headers.push(['Date', sipDate(at)], SUPPORTED_HEADER);
      if (ctx.path && supported.includes('path')) headers.push(['Path', ctx.path.join(', ')]);
      if (request.kind === 'update' && supported.includes('outbound') && request.contacts.some((c) => c.regId !== undefined)) {
        headers.push(['Require', 'outbound']); // RFC 5626 §6 item 5
      }
      return reply(200, 'OK', headers);
    }
  }

  /**
   * No Digest credentials for this realm: a challenge. When the request carried some in an
   * algorithm the registrar does not offer, that is recorded (the phone will not get further
   * until its algorithm setting changes), without counting it as a failed authentication.
   */
  private async noCredentials(req: InboundRequest, scope: RequestScope, realm: string, authorization: string | undefined): Promise<Outcome> {
    const unsupported = authorization ? unsupportedAlgorithm(authorization, realm) : null;
    if (!unsupported) {
      this.count('challenged');
      return this.challenge(realm, false);
    }
    scope.username = unsupported.username;
    scope.subject = namedDevice(await this.deps.credentials.lookup(realm, unsupported.username));
    this.count('auth_failed', 'algorithm_unsupported');
    if (this.deps.events.authFailed(req, scope.subject, 'algorithm_unsupported', sipUserOf(scope)!, false)) this.noteFailure(req, scope, 'algorithm_unsupported');
    return this.challenge(realm, false);
  }

  /**
   * A failed authentication: counted per source and user (blocking past the
   * thresholds), recorded as an event, answered like any unknown user (401 with
   * a fresh challenge) — or dropped when this failure blocks the source.
   */
  private async failure(req: InboundRequest, scope: RequestScope, realm: string, reason: AuthFailureReason): Promise<Outcome> {
    const { deps } = this;
    this.count('auth_failed', reason);
    const user = sipUserOf(scope)!;
    const outcome = await deps.blocks.recordFailure(req.sourceAddress, user);
    // Never proof of the password now (a replay repeats an old answer): limited per device.
    if (deps.events.authFailed(req, scope.subject, reason, user, false)) this.noteFailure(req, scope, reason);
    if (outcome.blocked) {
      deps.metrics.blocks.inc();
      deps.events.blocked(req, scope.subject, outcome.sourceFailures, user);
      deps.log.warn({ address: req.sourceAddress, user, failures: outcome.sourceFailures }, 'source blocked after failed authentications');
      return this.blockedOutcome();
    }
    return this.challenge(realm, false);
  }
}

/** One Path element (RFC 3327 §4): a name-addr (angle brackets) holding a SIP or SIPS URI. */
function isPathValue(element: string): boolean {
  const na = parseNameAddr(element);
  return na !== null && element.includes('<') && parseSipUri(na.uri) !== null;
}

/** RFC 7616 §3.4.6: digest-uri and Request-URI are the same URI (textually, or as parsed SIP URIs). */
function sameUri(a: string, b: string): boolean {
  if (a === b) return true;
  const ua = parseSipUri(a);
  const ub = parseSipUri(b);
  if (!ua || !ub) return false;
  return ua.scheme === ub.scheme && ua.user === ub.user && ua.host === ub.host && ua.port === ub.port;
}
