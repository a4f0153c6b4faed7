/**
 * What an event is: the catalogue of event types, the reasons a failure carries,
 * and the fields an event's `data` may hold. Pure: no I/O. Registrars and the API
 * write events of these types (shared/events/event-store.ts), the API serves them.
 * docs/events.md describes each one.
 */

/** Registration outcomes, written by registrars. */
export const SIP_EVENT_TYPES = [
  'registered', // a new binding
  'refreshed', // a binding renewed (stored when its source or User-Agent changed; every one with REGISTRAR_ROUTINE_EVENTS=all)
  'unregistered', // removed by the device (Expires 0, `*`) or dropped past the binding limit
  'expired', // removed by the reaper
  'removed', // removed by the API (kick, deactivation, password reset)
  'auth_failed', // digest authentication or authorisation failed (`reason`)
  'rejected', // refused for another reason (`status`, `reason`)
  'blocked', // the source address was blocked after repeated failures
] as const;

/** Configuration fetches, written by the provisioning server (`file`, `vendor`, `sourceIp`, `userAgent`). */
export const PROVISIONING_EVENT_TYPES = [
  'provisioned', // a phone fetched its configuration file
  'provisioning_failed', // a fetch was refused (`reason`: PROVISIONING_FAILURE_REASONS)
] as const;

/** The audit log, written by the API (`actorKeyId`, `clientIp` in data). */
export const AUDIT_EVENT_TYPES = [
  'account.created',
  'account.updated',
  'api_key.created',
  'api_key.revoked',
  'device.created',
  'device.updated',
  'device.deleted',
  'device.password_reset',
  'device.credentials_viewed',
  'registrations.removed',
  'sip_block.removed',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
  'webhook.disabled',
  'account.provisioning_updated',
  'account.provisioning_password_rotated',
  'device.provisioning_updated',
  'device.provisioning_token_created',
  'device.provisioning_token_removed',
] as const;

export type SipEventType = (typeof SIP_EVENT_TYPES)[number];
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
export type ProvisioningEventType = (typeof PROVISIONING_EVENT_TYPES)[number];
export type EventType = SipEventType | ProvisioningEventType | AuditEventType;

export const EVENT_TYPES: readonly EventType[] = [...SIP_EVENT_TYPES, ...PROVISIONING_EVENT_TYPES, ...AUDIT_EVENT_TYPES];

const KNOWN = new Set<string>(EVENT_TYPES);

export function isEventType(s: string): s is EventType {
  return KNOWN.has(s);
}

/** `reason` of `auth_failed`. */
export const AUTH_FAILURE_REASONS = [
  'wrong_password', // the digest response does not match the device's password
  'unknown_user', // no device has this username in this domain (never on a device: operators only)
  'stale_nonce', // right password, expired nonce: answered with stale=true (recorded only with REGISTRAR_ROUTINE_EVENTS=all)
  'nonce_replay', // a nonce-count already used (RFC 7616 §3.4): a replayed Authorization
  'malformed_credentials', // qop without cnonce or nonce-count, or a nonce-count that does not parse
  'aor_mismatch', // authenticated, but To names another address-of-record (403)
  'device_inactive', // the device's status is inactive (403)
  'deleted_device_password', // the password of a deleted device (403)
  'algorithm_unsupported', // credentials only in a digest algorithm the registrar does not offer
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** `reason` of `provisioning_failed`. */
export const PROVISIONING_FAILURE_REASONS = [
  'wrong_password', // the account's provisioning username with a wrong password asked for this device's file
  'unknown_mac', // the account's credentials asked for a MAC no device of the account has (on the account, `mac` in data)
  'mac_mismatch', // the User-Agent names another MAC than the file asked for (403)
  'device_inactive', // the device's status is inactive (403)
  'unknown_manufacturer', // no template for the device's manufacturer (404, `manufacturer` in data)
  'file_not_for_vendor', // the file name is not one the device's vendor asks for (404)
] as const;
export type ProvisioningFailureReason = (typeof PROVISIONING_FAILURE_REASONS)[number];

/**
 * What `data` may hold. Every field is optional and only set where it applies.
 * Never a password, HA1, nonce, Authorization header, API key or webhook secret.
 */
export interface EventData {
  /** Machine-readable cause (auth_failed: AUTH_FAILURE_REASONS; rejected, unregistered, removed: see docs/events.md). */
  reason?: string;
  /** SIP status answered (rejected, auth_failed with 403). */
  status?: number;
  sourceIp?: string;
  sourcePort?: number;
  transport?: string;
  userAgent?: string;
  /** Contact URI of the binding concerned. */
  contact?: string;
  /** Seconds granted (registered, refreshed). */
  expires?: number;
  /** `user@domain` the request named, on events that belong to no device. */
  sipUser?: string;
  /** refreshed: which of sourceIp, sourcePort, transport, userAgent changed. */
  changed?: string[];
  /** blocked: failures counted from the source address. */
  failures?: number;
  /** Audit: the kind of key that acted, the key (`admin-env` for ADMIN_API_KEY) and the client's address. Accounts are not shown an operator's key or address. */
  actor?: 'operator' | 'account';
  actorKeyId?: string;
  clientIp?: string;
  /** device.updated, account.updated, webhook.updated: names of the changed fields (never their values). */
  fields?: string[];
  /** registrations.removed: how many bindings were live. */
  removed?: number;
  /** device.password_reset: how long the previous password keeps working. */
  gracePeriodSeconds?: number;
  apiKeyId?: string;
  webhookId?: string;
  /** sip_block.removed: the address unblocked. */
  address?: string;
  name?: string;
  url?: string;
  /** provisioned, provisioning_failed: the file asked for, the vendor whose template served it. */
  file?: string;
  vendor?: string;
  /** provisioning_failed: the MAC asked for (unknown_mac), the device's manufacturer (unknown_manufacturer). */
  mac?: string;
  manufacturer?: string;
  /** blocked: which authentication the failures were of (`provisioning`; absent: SIP). */
  service?: string;
}

/** An event to write. `accountId` null with a `deviceId`: the store takes the device's account. */
export interface NewEvent {
  type: EventType;
  /** When it happened, ms since the epoch. */
  at: number;
  accountId: string | null;
  deviceId: string | null;
  data: EventData;
}

/** An event as stored and served. */
export interface StoredEvent {
  id: string;
  type: string;
  /** ISO 8601 with milliseconds. */
  at: string;
  accountId: string | null;
  deviceId: string | null;
  data: Record<string, unknown>;
}

/** Longest text kept in one data field; longer values are cut (a Contact is at most 1 KiB already). */
export const MAX_EVENT_TEXT = 1024;

// A lone UTF-16 surrogate (the u flag makes a pair one code point) or a NUL: PostgreSQL's
// jsonb refuses both, and one such event must not make its whole batch fail.
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /[\u0000\p{Surrogate}]/gu;

/** Text as it can be stored: NUL and lone surrogates replaced by U+FFFD, cut to MAX_EVENT_TEXT. */
export function storableText(s: string): string {
  const cut = s.length > MAX_EVENT_TEXT ? s.slice(0, MAX_EVENT_TEXT) : s;
  return cut.replace(UNSTORABLE, '\uFFFD');
}

/** `data` with every string (also inside arrays) made storable and undefined fields left out. */
export function storableData(data: EventData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue;
    if (typeof v === 'string') out[k] = storableText(v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? storableText(x) : x));
    else out[k] = v;
  }
  return out;
}
