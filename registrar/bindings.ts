import { Binding, instanceBindingId } from '../shared/registration-store';
import { MAX_CONTACT_BYTES, MAX_DELTA_SECONDS, MIN_EXPIRES_CEILING_S } from './constants';
import { BadRequestError, IntervalTooBriefError, OutOfOrderError, TooManyBindingsError } from './errors';
import { parseNameAddr, parseSipUri, removeRawParam, SipUri, splitHeaderList } from './sip-syntax';

/**
 * The binding rules of a registrar (RFC 3261 §10.3 steps 5–8, RFC 5626 §6,
 * RFC 3327 §5.3). Pure: takes the stored bindings and the request, returns
 * what to change, or throws a RegistrarError that maps to the SIP answer.
 */

export interface ExpiryPolicy {
  /** Configured minimum (seconds); 423 is only sent below min(this, 3600). */
  minExpires: number;
  defaultExpires: number;
  maxExpires: number;
}

/** An address-of-record in canonical form (RFC 3261 §10.3 step 5). */
export interface Aor {
  user: string;
  host: string;
}

/**
 * RFC 3261 §10.3 step 5: the AOR from the To header, canonicalised — URI
 * parameters removed, escaped characters unescaped, host lower-cased (the user
 * part stays case-sensitive, RFC 3261 §19.1.4). Null when To holds no SIP URI with a user.
 */
export function canonicalAor(toHeader: string | undefined): Aor | null {
  if (!toHeader) return null;
  const na = parseNameAddr(toHeader);
  if (!na) return null;
  const uri = parseSipUri(na.uri);
  if (!uri || uri.user === null) return null;
  return { user: uri.user, host: uri.host };
}

/**
 * Comparison key of a contact URI: scheme, user, host, port, every URI parameter
 * (names and values lower-cased, in name order) and the headers component. Two
 * contacts that differ in any parameter (`;line=1` / `;line=2`) or header are two
 * bindings (RFC 3261 §19.1.4: a parameter present in both must match; headers are
 * never ignored). Stricter than §19.1.4 for a parameter present in only one of them,
 * as Kamailio's whole-contact comparison is.
 */
export function contactKey(uri: SipUri): string {
  const params = [...uri.params]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? `;${name}` : `;${name}=${value.toLowerCase()}`))
    .join('');
  const headers = uri.headers === '' ? '' : `?${uri.headers}`;
  return `${uri.scheme}:${uri.user === null ? '' : `${uri.user}@`}${uri.host}${uri.port === null ? '' : `:${uri.port}`}${params}${headers}`;
}

/** One contact of the request, with its chosen expiry. */
export interface RequestedContact {
  /** Binding id: `<instance>|<reg-id>` for RFC 5626 contacts, else the contact URI's comparison key. */
  id: string;
  uri: string;
  /** Contact parameters other than `expires`, exactly as sent. */
  params: string;
  expires: number;
  instance?: string;
  regId?: number;
  q?: number;
}

export type ContactRequest =
  | { kind: 'query' }
  | { kind: 'wildcard' }
  | { kind: 'update'; contacts: RequestedContact[] };

/**
 * Parses an Expires header / `expires` parameter value (delta-seconds). A malformed
 * value (a date, a word, no value) is treated as absent (RFC 3261 §20.19 and §20.10:
 * "SHOULD be treated as equivalent to 3600"; here, like Kamailio, as not given, so the
 * next source or the configured default applies); values past 2^32-1 are lowered to it.
 */
function parseDelta(value: string): number | undefined {
  const v = value.trim();
  if (!/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), MAX_DELTA_SECONDS); // any number of digits: a long run is a huge number, or Infinity
}

/**
 * RFC 3261 §10.3 step 7: the expiry of one contact — its `expires` parameter,
 * else the Expires header, else the configured default; 0 stays 0 (removal);
 * a non-zero value below min(MIN, 3600) is refused with 423; above MAX it is lowered.
 */
export function selectExpiry(param: number | undefined, header: number | undefined, policy: ExpiryPolicy): number {
  const requested = param ?? header ?? policy.defaultExpires;
  if (requested === 0) return 0;
  const floor = Math.min(policy.minExpires, MIN_EXPIRES_CEILING_S);
  if (requested < floor) throw new IntervalTooBriefError(floor);
  return Math.min(requested, policy.maxExpires);
}

/** RFC 3261 §10.3 step 6 and §20.10: reads Contact and Expires into what the request asks. */
export function parseContactRequest(contactHeader: string | undefined, expiresHeader: string | undefined, policy: ExpiryPolicy): ContactRequest {
  const headerExpires = expiresHeader === undefined ? undefined : parseDelta(expiresHeader);
  if (contactHeader === undefined || contactHeader.trim() === '') return { kind: 'query' };
  const elements = splitHeaderList(contactHeader);
  if (!elements || elements.length === 0) throw new BadRequestError('INVALID_CONTACT', 'Contact header does not parse');
  if (elements.some((e) => e === '*')) {
    // RFC 3261 §10.3 step 6: "*" must be alone and come with Expires: 0.
    if (elements.length !== 1) throw new BadRequestError('WILDCARD_NOT_ALONE', 'Contact "*" must be the only contact');
    if (headerExpires !== 0) throw new BadRequestError('WILDCARD_EXPIRES', 'Contact "*" requires Expires: 0');
    return { kind: 'wildcard' };
  }
  const contacts: RequestedContact[] = [];
  const seen = new Set<string>();
  for (const el of elements) {
    // Bounded before any parsing (the stored form is checked against MAX_CONTACT_BYTES below).
    if (el.length > 2 * MAX_CONTACT_BYTES) throw new BadRequestError('CONTACT_TOO_LONG', `a Contact element is longer than ${2 * MAX_CONTACT_BYTES} characters`);
    const na = parseNameAddr(el);
    if (!na) throw new BadRequestError('INVALID_CONTACT', 'a Contact element does not parse');
    const uri = parseSipUri(na.uri);
    if (!uri) throw new BadRequestError('INVALID_CONTACT_URI', 'a Contact is not a SIP URI');
    const expParam = na.params.get('expires');
    const expires = selectExpiry(expParam === undefined ? undefined : parseDelta(expParam), headerExpires, policy);
    const params = removeRawParam(na.rawParams, 'expires');
    if (Buffer.byteLength(na.uri) + Buffer.byteLength(params) > MAX_CONTACT_BYTES) {
      throw new BadRequestError('CONTACT_TOO_LONG', `a Contact is longer than ${MAX_CONTACT_BYTES} bytes`);
    }
    const c: RequestedContact = { id: contactKey(uri), uri: na.uri, params, expires };
    const instance = na.params.get('+sip.instance');
    if (instance !== undefined && instance !== '') {
      c.instance = instance;
      const regIdText = na.params.get('reg-id');
      if (regIdText !== undefined) {
        // RFC 5626 §4.2: reg-id is 1..2^31-1.
        if (!/^\d{1,10}$/.test(regIdText) || Number(regIdText) < 1 || Number(regIdText) > 2_147_483_647) {
          throw new BadRequestError('INVALID_REG_ID', 'reg-id must be an integer from 1 to 2^31-1');
        }
        c.regId = Number(regIdText);
      }
      // RFC 5626 §6 (and RFC 5627 for instance alone): the binding is the instance's flow, not the URI.
      c.id = instanceBindingId(instance, c.regId);
    }
    const q = na.params.get('q');
    if (q !== undefined) {
      if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q)) throw new BadRequestError('INVALID_Q', 'q must be a qvalue from 0 to 1');
      c.q = Number(q);
    }
    // A request listing the same binding twice: the last one wins, as if sent in order.
    if (seen.has(c.id)) {
      const i = contacts.findIndex((x) => x.id === c.id);
      contacts.splice(i, 1);
    }
    seen.add(c.id);
    contacts.push(c);
  }
  return { kind: 'update', contacts };
}

/** What this REGISTER carries besides its contacts, copied into every binding it writes. */
export type RequestContext = Pick<Binding, 'callId' | 'cseq' | 'sourceAddress' | 'sourcePort' | 'transport' | 'receivedOn' | 'userAgent' | 'path'>;

export interface BindingLimits {
  maxBindings: number;
  policy: 'drop-oldest' | 'reject';
}

/** What a planned change does to one binding (the handler turns these into events). */
export interface BindingChange {
  type: 'registered' | 'refreshed' | 'unregistered';
  contact: string;
  /** Seconds granted (registered, refreshed). */
  expires?: number;
  /** unregistered: `expires_zero`, `wildcard` or `max_bindings`. */
  reason?: 'expires_zero' | 'wildcard' | 'max_bindings';
  /** refreshed: which of sourceIp, sourcePort, transport, userAgent differ from the binding's last REGISTER. */
  changed?: string[];
}

export interface BindingPlan {
  upserts: Binding[];
  removals: string[];
  /** The bindings live after the change (what the 200 lists). */
  result: Binding[];
  changes: BindingChange[];
}

/** What differs between a binding's last REGISTER and this one, by the names events use. */
function sourceChanges(old: Binding, ctx: RequestContext): string[] {
  const changed: string[] = [];
  if (old.sourceAddress !== ctx.sourceAddress) changed.push('sourceIp');
  if (old.sourcePort !== ctx.sourcePort) changed.push('sourcePort');
  if (old.transport !== ctx.transport) changed.push('transport');
  if (old.userAgent !== ctx.userAgent) changed.push('userAgent');
  return changed;
}

/** RFC 3261 §10.3 step 7: same Call-ID and a CSeq not higher than stored → the whole request fails. */
function checkOrder(existing: Binding, ctx: RequestContext): void {
  if (existing.callId === ctx.callId && ctx.cseq <= existing.cseq) throw new OutOfOrderError();
}

/**
 * Applies the request to the stored bindings (RFC 3261 §10.3 steps 6–8):
 * every check passes before anything changes, so the caller can commit the
 * plan atomically or not at all.
 */
export function planRegistration(
  existing: readonly Binding[],
  request: ContactRequest,
  ctx: RequestContext,
  now: number,
  limits: BindingLimits,
): BindingPlan {
  const live = existing.filter((b) => b.expiresAt > now);
  if (request.kind === 'query') return { upserts: [], removals: [], result: live, changes: [] };

  if (request.kind === 'wildcard') {
    // RFC 3261 §10.3 step 6: remove every binding, subject to the Call-ID/CSeq rule.
    for (const b of live) checkOrder(b, ctx);
    return {
      upserts: [],
      removals: live.map((b) => b.id),
      result: [],
      changes: live.map((b) => ({ type: 'unregistered', contact: b.uri, reason: 'wildcard' })),
    };
  }

  const byId = new Map(live.map((b) => [b.id, b] as const));
  const upserts: Binding[] = [];
  const removals: string[] = [];
  const changes: BindingChange[] = [];
  for (const c of request.contacts) {
    const old = byId.get(c.id);
    if (old) checkOrder(old, ctx); // RFC 3261 §10.3 step 7
    if (c.expires === 0) {
      if (old) {
        removals.push(c.id);
        changes.push({ type: 'unregistered', contact: c.uri, reason: 'expires_zero' });
      }
      continue;
    }
    const b: Binding = {
      id: c.id,
      uri: c.uri,
      params: c.params,
      expiresAt: now + c.expires * 1000,
      callId: ctx.callId,
      cseq: ctx.cseq,
      sourceAddress: ctx.sourceAddress,
      sourcePort: ctx.sourcePort,
      transport: ctx.transport,
      receivedOn: ctx.receivedOn,
      userAgent: ctx.userAgent,
      registeredAt: old ? old.registeredAt : now,
    };
    if (c.instance !== undefined) b.instance = c.instance;
    if (c.regId !== undefined) b.regId = c.regId;
    if (c.q !== undefined) b.q = c.q;
    if (ctx.path && ctx.path.length) b.path = ctx.path;
    upserts.push(b);
    changes.push(old ? { type: 'refreshed', contact: c.uri, expires: c.expires, changed: sourceChanges(old, ctx) } : { type: 'registered', contact: c.uri, expires: c.expires });
  }

  const touched = new Set(request.contacts.map((c) => c.id));
  const untouched = live.filter((b) => !touched.has(b.id));
  const total = untouched.length + upserts.length;
  if (total > limits.maxBindings) {
    if (limits.policy === 'reject' || upserts.length > limits.maxBindings) throw new TooManyBindingsError(limits.maxBindings);
    // drop-oldest: the bindings first registered longest ago go first.
    const victims = [...untouched].sort((a, b) => a.registeredAt - b.registeredAt).slice(0, total - limits.maxBindings);
    for (const v of victims) {
      removals.push(v.id);
      changes.push({ type: 'unregistered', contact: v.uri, reason: 'max_bindings' });
    }
    const dropped = new Set(victims.map((v) => v.id));
    return { upserts, removals, result: [...untouched.filter((b) => !dropped.has(b.id)), ...upserts], changes };
  }
  return { upserts, removals, result: [...untouched, ...upserts], changes };
}

/**
 * RFC 3261 §10.3 step 8: the Contact header values of the 200 OK — every
 * current binding, its URI and parameters exactly as the device sent them, and
 * its remaining expiry in seconds.
 */
export function contactsForResponse(bindings: readonly Binding[], now: number): string[] {
  return bindings
    .filter((b) => b.expiresAt > now)
    .map((b) => `<${b.uri}>${b.params};expires=${Math.ceil((b.expiresAt - now) / 1000)}`);
}

/** The last Date value built, and the second it is for (every 200 of that second carries the same text). */
let lastDate = { second: NaN, text: '' };

/** RFC 7231 §7.1.1.1 IMF-fixdate, as RFC 3261 §20.17 Date requires (always GMT). */
export function sipDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== lastDate.second) lastDate = { second, text: new Date(second * 1000).toUTCString() };
  return lastDate.text;
}
