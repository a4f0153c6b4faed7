import type { AuthFailureReason, EventData, NewEvent } from '../shared/events/catalog';
import type { Binding } from '../shared/registration-store';
import type { BindingChange } from './bindings';
import { KeyedTokenBuckets, TokenBucket } from '../shared/token-buckets';
import { MAX_USER_AGENT_CHARS } from './constants';
import type { InboundRequest } from './sip-types';

/** Where events go (an EventWriter: queued, written in the background). */
export interface EventSink {
  record(event: NewEvent): void;
}

/** The device a REGISTER concerns, once its SIP identity names one (a deleted one's included). */
export interface Subject {
  deviceId: string;
  accountId: string;
}

/**
 * Events a request records about a device before it proved the device's password
 * (a wrong password, an unsupported algorithm, a digest-uri mismatch…): anyone who
 * knows the username can cause them, so each device gets at most this many at once,
 * refilled at UNVERIFIED_PER_DEVICE_PER_MIN a minute; the rest are counted, not recorded.
 */
const UNVERIFIED_PER_DEVICE_BURST = 20;
const UNVERIFIED_PER_DEVICE_PER_MIN = 20;
/** Devices whose unverified-event budget is tracked at once (the oldest is forgotten first). */
const MAX_TRACKED_DEVICES = 100_000;

export interface RegistrationEventsOptions {
  /** `changes`: a refresh is an event only when its source or User-Agent changed, a stale nonce never; `all`: both always. */
  routine: 'changes' | 'all';
  /** Events of no account (unknown users and domains, malformed requests) per second at most; 0: none. */
  unattributedPerS: number;
  now: () => number;
  /** Called for each event of no account left out by the rate limit. */
  onRateLimited?: () => void;
}

/**
 * Turns what the registrar decided into events (shared/events/catalog.ts):
 * which ones, with which fields. Never a password, HA1, nonce or Authorization
 * header: only the request's source, User-Agent and the outcome.
 */
export class RegistrationEvents {
  private readonly unattributed: TokenBucket;
  private readonly perDevice: KeyedTokenBuckets;

  constructor(private readonly sink: EventSink, private readonly opts: RegistrationEventsOptions) {
    this.unattributed = new TokenBucket(opts.unattributedPerS, opts.unattributedPerS, opts.now);
    this.perDevice = new KeyedTokenBuckets({
      burst: UNVERIFIED_PER_DEVICE_BURST,
      perMin: UNVERIFIED_PER_DEVICE_PER_MIN,
      maxKeys: MAX_TRACKED_DEVICES,
      now: opts.now,
    });
  }

  /** What a successful REGISTER changed. Plain refreshes only with `routine: all`. */
  bindingChanges(req: InboundRequest, subject: Subject, changes: readonly BindingChange[]): void {
    for (const c of changes) {
      if (c.type === 'refreshed' && this.opts.routine === 'changes' && !c.changed?.length) continue;
      const data: EventData = { ...source(req), contact: c.contact };
      if (c.expires !== undefined) data.expires = c.expires;
      if (c.reason !== undefined) data.reason = c.reason;
      if (c.changed?.length) data.changed = c.changed;
      this.emit(c.type, subject, data, true);
    }
  }

  /**
   * A failed authentication or authorisation; `subject` null for an unknown user (`sipUser`
   * then names who was tried). `verified`: the request proved the password (a replay, a 403).
   * Returns whether it was recorded (not left out by a rate limit).
   */
  authFailed(req: InboundRequest, subject: Subject | null, reason: AuthFailureReason, sipUser: string, verified: boolean, status?: number): boolean {
    const data: EventData = { ...source(req), reason };
    if (status !== undefined) data.status = status;
    if (!subject) data.sipUser = sipUser;
    return this.emit('auth_failed', subject, data, verified);
  }

  /** A correct answer to an expired nonce (answered stale=true): routine, so only with `routine: all`. */
  staleNonce(req: InboundRequest, subject: Subject): void {
    if (this.opts.routine === 'all') this.emit('auth_failed', subject, { ...source(req), reason: 'stale_nonce' }, true);
  }

  /** A request refused with `status` for `reason` (a RegistrarError code, lower-cased); returns whether it was recorded. */
  rejected(req: InboundRequest, subject: Subject | null, status: number, reason: string, verified: boolean, sipUser?: string): boolean {
    const data: EventData = { ...source(req), status, reason };
    if (!subject && sipUser !== undefined) data.sipUser = sipUser;
    return this.emit('rejected', subject, data, verified);
  }

  /** The source address was blocked by this (unverified) failure. */
  blocked(req: InboundRequest, subject: Subject | null, failures: number, sipUser: string): void {
    const data: EventData = { ...source(req), failures };
    if (!subject) data.sipUser = sipUser;
    this.emit('blocked', subject, data, false);
  }

  /** A binding the reaper removed (the store takes the account from the device). */
  expired(deviceId: string, binding: Binding): void {
    this.sink.record({
      type: 'expired',
      at: this.opts.now(),
      accountId: null,
      deviceId,
      data: { contact: binding.uri, sourceIp: binding.sourceAddress, sourcePort: binding.sourcePort, transport: binding.transport, userAgent: binding.userAgent },
    });
  }

  private emit(type: NewEvent['type'], subject: Subject | null, data: EventData, verified: boolean): boolean {
    const allowed = subject ? verified || this.perDevice.take(subject.deviceId) : this.unattributed.take();
    if (!allowed) {
      this.opts.onRateLimited?.();
      return false;
    }
    this.sink.record({ type, at: this.opts.now(), accountId: subject?.accountId ?? null, deviceId: subject?.deviceId ?? null, data });
    return true;
  }
}

function source(req: InboundRequest): EventData {
  const data: EventData = { sourceIp: req.sourceAddress, sourcePort: req.sourcePort, transport: req.transport };
  const ua = req.header('user-agent');
  if (ua) data.userAgent = ua.slice(0, MAX_USER_AGENT_CHARS);
  return data;
}
