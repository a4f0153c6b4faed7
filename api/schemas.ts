import { z } from 'zod';
import { AUTH_FAILURE_REASONS, EVENT_TYPES, isEventType } from '../shared/events/catalog';
import { normalizeMacAddress } from '../shared/mac-address';
import { AccountProvisioningPatch, CODECS, DeviceProvisioningPatch } from '../shared/provisioning/settings';

/**
 * Request and response shapes. Requests are parsed with these schemas; the
 * OpenAPI document (api/openapi.ts) is generated from the same objects, so the
 * document cannot drift from what the server accepts and returns.
 */

/** Maximum page size of list endpoints. */
export const MAX_PAGE_LIMIT = 200;
/** Page size when `limit` is not given. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Longest grace period a password reset may grant the previous password: 7 days. */
export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 3600;

/**
 * A lone UTF-16 surrogate, which UTF-8 encoding would silently turn into U+FFFD (with the
 * u flag a surrogate pair is one code point and does not match); PostgreSQL refuses NUL.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Text PostgreSQL stores as given. */
const storable = (s: z.ZodString) =>
  s.refine((v) => !v.includes('\u0000') && !LONE_SURROGATE.test(v), 'must not contain NUL characters or lone UTF-16 surrogates');
/** A query filter: decoded from a query string already checked as UTF-8 (app.ts), so only NUL can be in it. */
const filter = (s: z.ZodString) => s.refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');

const text = (max: number) => storable(z.string().trim().min(1).max(max));
const optionalText = (max: number) => text(max).nullable().optional();

/**
 * SIP user part (RFC 3261 §25.1 `user`), restricted to the characters that need
 * no escaping anywhere a phone or a digest header carries them.
 */
export const SipUsername = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~+-]{0,63}$/, 'must be 1-64 characters of letters, digits and . _ ~ + - starting with a letter or digit');
export const SipDomain = z.string().max(253).regex(/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a DNS host name').toLowerCase();
export const MacAddressInput = z
  .string()
  .max(32)
  .transform((v, ctx) => {
    const normalized = normalizeMacAddress(v);
    if (normalized === null) {
      ctx.issues.push({ code: 'custom', input: v, message: 'must be a MAC address such as 00:15:65:00:00:01' });
      return z.NEVER;
    }
    return normalized;
  })
  .meta({ description: 'Any common spelling (00-15-65-00-00-01, 0015.6500.0001, 001565000001); stored and returned as 00:15:65:00:00:01.', examples: ['00:15:65:00:00:01'] });
export const DeviceStatus = z.enum(['active', 'inactive']);
export const RegistrationStatus = z.enum(['pending', 'registered', 'unregistered']);
export const Timestamp = z.iso.datetime();
/** A device-list cursor's timestamp: microseconds, every field in range, and year 1 or later (PostgreSQL has no year 0). */
export const CursorTimestamp = z.iso.datetime({ precision: 6 }).refine((ts) => !ts.startsWith('0000'));

export const DeviceCreateBody = z
  .strictObject({
    name: text(200),
    model: optionalText(100),
    manufacturer: optionalText(100),
    macAddress: MacAddressInput.nullable().optional(),
    sipUsername: SipUsername,
    displayName: optionalText(100),
    assignedUser: optionalText(100),
  })
  .meta({ id: 'DeviceCreate' });

export const DevicePatchBody = z
  .strictObject({
    name: text(200).optional(),
    displayName: optionalText(100),
    assignedUser: optionalText(100),
    status: DeviceStatus.optional(),
    model: optionalText(100),
    manufacturer: optionalText(100),
    macAddress: MacAddressInput.nullable().optional(),
  })
  .meta({ id: 'DevicePatch' });

export const ResetPasswordBody = z
  .strictObject({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_PERIOD_SECONDS)
      .optional()
      .meta({ description: 'How long the previous password keeps working. 0 (default): it stops at once and live registrations are removed.' }),
  })
  .meta({ id: 'ResetPassword' });

/** `limit` of the list endpoints: decimal digits only (Number() would also take 0x10, 1e1, +5 or ' 5'), 1 to MAX_PAGE_LIMIT. */
export const PageLimit = z
  .string()
  .regex(/^[0-9]+$/, 'must be a decimal integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT));

export const DeviceListQuery = z.strictObject({
  limit: PageLimit.optional(),
  cursor: z.string().max(512).optional(),
  status: DeviceStatus.optional(),
  assignedUser: filter(z.string().max(100)).optional(),
  macAddress: MacAddressInput.optional(),
  sipUsername: filter(z.string().max(64)).optional(),
  name: filter(z.string().min(1).max(200)).optional(),
});

const Host = z.string().max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address');
const HostPort = z.string().max(260).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be host or host:port');
const Transport = z.enum(['UDP', 'TCP', 'TLS']);
/** Per-account overrides of the credentials endpoint; null (or absent) = the configured default. */
const accountSipSettings = {
  sipServer: Host.nullable().optional().meta({ description: 'sipServer given to devices. Default: SIP_PUBLIC_HOST, else the SIP domain.' }),
  sipPort: z.number().int().min(1).max(65535).nullable().optional().meta({ description: 'Default: SIP_PUBLIC_PORT.' }),
  outboundProxy: HostPort.nullable().optional().meta({ description: 'Default: SIP_OUTBOUND_PROXY, else sipServer:sipPort.' }),
  transportProtocol: Transport.nullable().optional().meta({ description: 'Default: SIP_TRANSPORT.' }),
};

export const AccountPatchBody = z.strictObject({ name: text(200).optional(), ...accountSipSettings }).meta({ id: 'AccountPatch' });

export const AccountCreateBody = z
  .strictObject({
    ...accountSipSettings,
    name: text(200),
    sipDomain: SipDomain.optional().meta({ description: 'SIP domain (digest realm) of the account\'s devices. Default: SIP_DEFAULT_DOMAIN.' }),
    apiKeyName: text(100).optional(),
  })
  .meta({ id: 'AccountCreate' });

export const ApiKeyCreateBody = z.strictObject({ name: text(100).optional() }).meta({ id: 'ApiKeyCreate' });


// ---- responses ----

const deviceShape = {
  id: z.string().meta({ examples: ['dev_sip_4fJ8kq2LmN0pQr7s'] }),
  accountId: z.string(),
  type: z.literal('sip'),
  name: z.string(),
  model: z.string().nullable(),
  manufacturer: z.string().nullable(),
  macAddress: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/).nullable(),
  sipUsername: z.string(),
  sipDomain: z.string(),
  displayName: z.string().nullable(),
  assignedUser: z.string().nullable(),
  status: DeviceStatus,
  registrationStatus: RegistrationStatus,
  lastRegistration: Timestamp.nullable(),
  ipAddress: z.string().nullable(),
  lastFailure: z
    .strictObject({ at: Timestamp, reason: z.string(), sourceIp: z.string() })
    .nullable()
    .meta({ description: 'The newest failed REGISTER since the last successful one (an auth_failed or rejected reason, docs/events.md), or null.' }),
  lastProvisioned: Timestamp.nullable().meta({ description: 'When the device\'s phone last fetched its configuration file (docs/provisioning.md), or null.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const Device = z.strictObject(deviceShape).meta({ id: 'Device' });
export const DeviceCreated = z
  .strictObject({ ...deviceShape, credentials: z.strictObject({ sipPassword: z.string() }) })
  .meta({ id: 'DeviceCreated', description: 'The created device; `credentials.sipPassword` appears in this response only.' });
export const DeviceList = z
  .strictObject({
    data: z.array(Device),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` to get the next page; null on the last page.' }),
  })
  .meta({ id: 'DeviceList' });
export const Credentials = z
  .strictObject({
    sipServer: z.string(),
    sipPort: z.number().int(),
    sipUsername: z.string(),
    sipPassword: z.string(),
    sipDomain: z.string(),
    outboundProxy: z.string(),
    transportProtocol: z.enum(['UDP', 'TCP', 'TLS']),
    provisioning: z
      .strictObject({
        url: z.string().meta({ description: 'The directory a phone is pointed at (DHCP option 66); it fetches `{url}/{file name}`.' }),
        username: z.string(),
        password: z.string(),
        tokenUrl: z.string().nullable().meta({ description: 'The device\'s secret path-token directory (no HTTP credentials needed), or null.' }),
      })
      .meta({ description: 'Where the phone fetches its configuration by MAC, and the account\'s HTTP credentials for it.' }),
  })
  .meta({ id: 'Credentials' });
export const PasswordReset = z
  .strictObject({
    sipPassword: z.string(),
    message: z.string(),
    expiresAt: Timestamp.meta({ description: 'When the previous password stops being accepted.' }),
  })
  .meta({ id: 'PasswordReset' });

export const Account = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    sipDomain: z.string(),
    sipServer: z.string().nullable(),
    sipPort: z.number().int().nullable(),
    outboundProxy: z.string().nullable(),
    transportProtocol: Transport.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Account', description: 'sipServer, sipPort, outboundProxy and transportProtocol are per-account overrides of the credentials endpoint (null: the configured default).' });
const apiKeyShape = {
  id: z.string(),
  accountId: z.string().nullable(),
  name: z.string(),
  createdAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
};
export const ApiKey = z.strictObject(apiKeyShape).meta({ id: 'ApiKey' });
export const ApiKeyCreated = z
  .strictObject({ ...apiKeyShape, key: z.string().meta({ description: 'The key to send as X-Auth-Token. Shown once.' }) })
  .meta({ id: 'ApiKeyCreated' });
export const ApiKeyList = z.strictObject({ data: z.array(ApiKey) }).meta({ id: 'ApiKeyList' });
export const AccountCreated = z.strictObject({ account: Account, apiKey: ApiKeyCreated }).meta({ id: 'AccountCreated' });
export const AccountList = z
  .strictObject({ data: z.array(Account), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .meta({ id: 'AccountList' });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string(),
    field: z.string().optional(),
    errors: z.array(z.strictObject({ field: z.string(), code: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `code` is stable, `errors` names each field at fault.' });

export const Health = z
  .strictObject({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.enum(['ok', 'failed'])).optional() })
  .meta({ id: 'Health' });

export const Registration = z
  .strictObject({
    id: z.string(),
    contact: z.string(),
    expiresAt: Timestamp,
    registeredAt: Timestamp,
    sourceAddress: z.string(),
    sourcePort: z.number().int(),
    transport: z.string(),
    userAgent: z.string(),
    callId: z.string(),
    cseq: z.number().int(),
    instance: z.string().nullable(),
    regId: z.number().int().nullable(),
    path: z.array(z.string()),
    q: z.number().nullable(),
  })
  .meta({ id: 'Registration', description: 'One live contact binding of the device (RFC 3261 §10.3).' });
export const RegistrationList = z.strictObject({ data: z.array(Registration) }).meta({ id: 'RegistrationList' });

export const SipBlock = z
  .strictObject({ address: z.string(), since: Timestamp, until: Timestamp, reason: z.string(), failures: z.number().int() })
  .meta({ id: 'SipBlock', description: 'A source address blocked after repeated failed SIP authentications.' });
export const WhoAmI = z
  .strictObject({
    kind: z.enum(['operator', 'account']),
    keyId: z.string(),
    accountId: z.string().nullable().meta({ description: 'The account of an account key; null for an operator key.' }),
  })
  .meta({ id: 'WhoAmI' });

export const SipBlockList = z.strictObject({ data: z.array(SipBlock) }).meta({ id: 'SipBlockList' });

// ---- events ----

/** `type` filter: comma-separated event types. */
const EventTypeFilter = z
  .string()
  .max(1000)
  .transform((v, ctx) => {
    const types = v.split(',').map((t) => t.trim()).filter((t) => t !== '');
    const unknown = types.filter((t) => !isEventType(t));
    if (unknown.length || types.length === 0) {
      ctx.issues.push({ code: 'custom', input: v, message: `unknown event type${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ') || '(none given)'}` });
      return z.NEVER;
    }
    return types;
  });

const eventListQuery = {
  limit: PageLimit.optional(),
  cursor: z.string().max(64).optional(),
  type: EventTypeFilter.optional(),
  since: Timestamp.optional(),
};
export const DeviceEventsQuery = z.strictObject(eventListQuery);
export const AccountEventsQuery = z.strictObject({ ...eventListQuery, deviceId: filter(z.string().max(100)).optional() });
export const EventStreamQuery = z.strictObject({
  token: z.string().max(512).optional(),
  type: EventTypeFilter.optional(),
  deviceId: filter(z.string().max(100)).optional(),
  lastEventId: z.string().max(64).optional(),
});

export const Event = z
  .strictObject({
    id: z.string().meta({ examples: ['evt_8Qk2Lm0pQr7s4fJ9'] }),
    type: z.enum(EVENT_TYPES as [string, ...string[]]),
    at: Timestamp,
    accountId: z.string().nullable(),
    deviceId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).meta({
      description: `Fields by type (docs/events.md): reason, status, sourceIp, sourcePort, transport, userAgent, contact, expires, sipUser, changed, failures; audit events actorKeyId, clientIp and the fields they name. auth_failed reasons: ${AUTH_FAILURE_REASONS.join(', ')}.`,
    }),
  })
  .meta({ id: 'Event', description: 'A registration outcome or an audit record. Never carries a password, HA1, nonce, API key or webhook secret.' });
export const EventList = z
  .strictObject({ data: z.array(Event), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .meta({ id: 'EventList', description: 'Newest first.' });
export const StreamToken = z
  .strictObject({
    token: z.string().meta({ description: 'Pass as `?token=` to the stream route (browsers\' EventSource cannot send X-Auth-Token).' }),
    expiresAt: Timestamp.meta({ description: 'Until when a stream can be opened with it.' }),
  })
  .meta({ id: 'StreamToken' });

// ---- webhooks ----

const WebhookEvents = z
  .array(z.string().refine((t) => t === '*' || isEventType(t), 'must be an event type (docs/events.md) or *'))
  .min(1)
  .max(50)
  .refine((a) => new Set(a).size === a.length, 'must not repeat a type')
  .meta({ description: 'Event types delivered, or ["*"] for all.' });
const WebhookUrl = z.string().max(2048).meta({ description: 'http(s) URL of the receiver. Loopback, private, link-local and cloud metadata addresses are refused (checked again at every delivery); WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows loopback and private ones.' });

export const WebhookCreateBody = z
  .strictObject({ url: WebhookUrl, events: WebhookEvents, description: optionalText(200) })
  .meta({ id: 'WebhookCreate' });
export const WebhookPatchBody = z
  .strictObject({
    url: WebhookUrl.optional(),
    events: WebhookEvents.optional(),
    enabled: z.boolean().optional().meta({ description: 'true re-enables a webhook (also one disabled after failing) and forgets its failure streak.' }),
    description: optionalText(200),
  })
  .meta({ id: 'WebhookPatch' });

const webhookShape = {
  id: z.string().meta({ examples: ['whk_3kQ9Lm0pQr7s4fJ8'] }),
  accountId: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.string().nullable().meta({ description: 'Why it was disabled automatically, else null.' }),
  failingSince: Timestamp.nullable().meta({ description: 'First failed attempt since the last successful one; null while healthy.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
export const Webhook = z.strictObject(webhookShape).meta({ id: 'Webhook' });
export const WebhookWithSecret = z
  .strictObject({ ...webhookShape, secret: z.string().meta({ description: 'Signing secret (whsec_…), shown only in this answer.' }) })
  .meta({ id: 'WebhookWithSecret' });
export const WebhookList = z.strictObject({ data: z.array(Webhook) }).meta({ id: 'WebhookList' });

export const DeliveryListQuery = z.strictObject({
  limit: PageLimit.optional(),
  cursor: z.string().max(512).optional(),
  state: z.enum(['pending', 'delivered', 'failed']).optional(),
});
export const Delivery = z
  .strictObject({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable().meta({ description: 'HTTP status of the last attempt, null when none arrived.' }),
    lastError: z.string().nullable(),
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable().meta({ description: 'When the next attempt is due (pending only).' }),
    createdAt: Timestamp,
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Delivery' });
export const DeliveryList = z
  .strictObject({ data: z.array(Delivery), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .meta({ id: 'DeliveryList', description: 'Newest first.' });

// ---- provisioning ----

const provisioningSettingsShape = {
  backupServer: z.string().nullable(),
  backupPort: z.number().int().nullable(),
  registrationExpiry: z.number().int(),
  codecs: z.array(z.enum(CODECS)),
  rtpPortMin: z.number().int(),
  rtpPortMax: z.number().int(),
  dscpRtp: z.number().int(),
  dscpSip: z.number().int(),
  ntpServer: z.string().nullable(),
  utcOffset: z.string().nullable(),
};
const AccountProvisioningSettings = z.strictObject(provisioningSettingsShape);
const EffectiveProvisioningSettings = z.strictObject({ ...provisioningSettingsShape, transport: Transport.nullable() });

export const AccountProvisioningPatchBody = AccountProvisioningPatch.meta({ id: 'AccountProvisioningPatch' });
export const DeviceProvisioningPatchBody = DeviceProvisioningPatch.meta({ id: 'DeviceProvisioningPatch' });

export const AccountProvisioning = z
  .strictObject({
    accountId: z.string(),
    url: z.string().meta({ description: 'The directory phones are pointed at (DHCP option 66).' }),
    username: z.string().meta({ description: 'HTTP username of the account\'s phones (the password: credentials route or rotate-password).' }),
    settings: AccountProvisioningSettings.meta({ description: 'The account\'s values, defaults where none is set.' }),
    defaults: AccountProvisioningSettings,
    updatedAt: Timestamp,
  })
  .meta({ id: 'AccountProvisioning' });
export const ProvisioningPassword = z
  .strictObject({ url: z.string(), username: z.string(), password: z.string().meta({ description: 'Shown in this answer (and the credentials route).' }) })
  .meta({ id: 'ProvisioningPassword' });
export const ProvisioningPreview = z
  .strictObject({
    deviceId: z.string(),
    url: z.string(),
    tokenUrl: z.string().nullable(),
    vendor: z.enum(['yealink', 'polycom', 'grandstream', 'cisco', 'snom', 'fanvil']).nullable(),
    file: z
      .strictObject({
        name: z.string(),
        url: z.string(),
        contentType: z.string(),
        content: z.string().meta({ description: 'The file as the phone receives it; the SIP password masked unless includePassword=true.' }),
        names: z.array(z.string()).meta({ description: 'Every file name of this device the server answers.' }),
      })
      .nullable(),
    problem: z.string().nullable().meta({ description: 'Why there is no file (no MAC address, no template for the manufacturer), else null.' }),
    passwordIncluded: z.boolean(),
    settings: EffectiveProvisioningSettings,
    overrides: z.record(z.string(), z.unknown()).meta({ description: 'The device\'s own values (DeviceProvisioningPatch fields).' }),
    lastProvisioned: Timestamp.nullable(),
  })
  .meta({ id: 'ProvisioningPreview' });
export const DeviceProvisioning = z
  .strictObject({ deviceId: z.string(), overrides: z.record(z.string(), z.unknown()), settings: EffectiveProvisioningSettings })
  .meta({ id: 'DeviceProvisioning' });
export const ProvisioningToken = z
  .strictObject({ tokenUrl: z.string().meta({ description: 'Point the phone at this directory: it fetches `{tokenUrl}/{file name}` without HTTP credentials.' }) })
  .meta({ id: 'ProvisioningToken' });
