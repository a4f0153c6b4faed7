import { z } from 'zod';

/**
 * What a provisioned phone is told beyond its SIP identity: the settings, their
 * defaults (the seed's SIP configuration reference), how an account's values and a
 * device's overrides combine, and the rules a value must follow. Pure: no I/O.
 * The API validates writes with these schemas; the store reads stored values
 * through them too, so a value stored by an older version that no longer passes
 * falls back to its default instead of reaching a phone.
 */

/** Codecs a phone can be told to offer, in the names the API uses. Templates map them to each vendor's names. */
export const CODECS = ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'] as const;
export type Codec = (typeof CODECS)[number];

export interface ProvisioningSettings {
  /** Backup (failover) SIP server host; null: none. */
  backupServer: string | null;
  /** Its port; null: the primary server's port. */
  backupPort: number | null;
  /** Registration expiry the phone asks for, seconds. */
  registrationExpiry: number;
  /** Codecs in order of preference (a vendor's template drops those its phones do not have). */
  codecs: Codec[];
  rtpPortMin: number;
  rtpPortMax: number;
  /** DSCP (0–63) of RTP and of SIP signalling. */
  dscpRtp: number;
  dscpSip: number;
  /** NTP server host; null: the phone's own default. */
  ntpServer: string | null;
  /** Fixed offset from UTC, `+01:00` / `-05:30`; null: the phone's own default. Daylight saving time is not applied. */
  utcOffset: string | null;
  /** SIP transport for this device; null: the account's (transportProtocol, else SIP_TRANSPORT). Device level only. */
  transport: 'UDP' | 'TCP' | 'TLS' | null;
}

/** The seed's reference: G.711 µ-law, A-law, G.729, Opus; RTP 16000–32000; DSCP EF (46). */
export const DEFAULT_SETTINGS: Readonly<ProvisioningSettings> = Object.freeze<ProvisioningSettings>({
  backupServer: null,
  backupPort: null,
  registrationExpiry: 3600,
  codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'],
  rtpPortMin: 16000,
  rtpPortMax: 32000,
  dscpRtp: 46,
  // AF31: the factory default of SIP signalling on most desk phones (the seed names no value).
  dscpSip: 26,
  ntpServer: null,
  utcOffset: null,
  transport: null,
});

const Host = z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address');
const Port = z.number().int().min(1).max(65535);
const Dscp = z.number().int().min(0).max(63);
const RtpPort = z.number().int().min(1024).max(65535);

const fields = {
  backupServer: Host.nullable().meta({ description: 'Backup (failover) SIP server. Default: none.' }),
  backupPort: Port.nullable().meta({ description: 'Port of the backup server. Default: the primary server\'s port.' }),
  registrationExpiry: z.number().int().min(60).max(86400).meta({ description: 'Registration expiry phones ask for, seconds. Default: 3600.' }),
  codecs: z
    .array(z.enum(CODECS))
    .min(1)
    .max(CODECS.length)
    .refine((a) => new Set(a).size === a.length, 'must not repeat a codec')
    .meta({ description: 'Codecs in order of preference. Default: PCMU, PCMA, G729, OPUS. A vendor\'s file leaves out those its phones lack (docs/provisioning.md).' }),
  rtpPortMin: RtpPort.meta({ description: 'Lowest RTP port. Default: 16000.' }),
  rtpPortMax: RtpPort.meta({ description: 'Highest RTP port. Default: 32000.' }),
  dscpRtp: Dscp.meta({ description: 'DSCP of RTP packets (0–63). Default: 46 (EF).' }),
  dscpSip: Dscp.meta({ description: 'DSCP of SIP packets (0–63). Default: 26 (AF31).' }),
  ntpServer: Host.nullable().meta({ description: 'NTP server. Default: none (the phone keeps its own).' }),
  utcOffset: z
    .string()
    .regex(/^[+-](0\d|1[0-4]):(00|15|30|45)$/, 'must be an offset from UTC such as +01:00 or -05:30')
    .refine((v) => Number(v.slice(1, 3)) * 60 + Number(v.slice(4)) <= (v.startsWith('-') ? 12 * 60 : 14 * 60), 'must be between -12:00 and +14:00')
    .nullable()
    .meta({ description: 'Time zone as a fixed offset from UTC (daylight saving time is not applied). Default: none (the phone keeps its own).' }),
  transport: z.enum(['UDP', 'TCP', 'TLS']).nullable().meta({ description: 'SIP transport of this device. Default: the account\'s.' }),
};

/** Account-level settings: every field but `transport` (the account's transport is its `transportProtocol`). */
const { transport, ...accountFields } = fields;
const accountPatch = Object.fromEntries(Object.entries(accountFields).map(([k, v]) => [k, v.nullable().optional()])) as {
  [K in keyof typeof accountFields]: z.ZodOptional<z.ZodNullable<(typeof accountFields)[K]>>;
};
/** PATCH body of an account's settings: a value sets, null returns to the default, absent leaves as is. */
export const AccountProvisioningPatch = z.strictObject(accountPatch);
export type AccountProvisioningPatch = z.infer<typeof AccountProvisioningPatch>;

/** What a device may override: the settings that differ between phones of one account. */
export const DEVICE_OVERRIDABLE = ['codecs', 'registrationExpiry', 'ntpServer', 'utcOffset', 'transport'] as const;
const deviceFields = { codecs: fields.codecs, registrationExpiry: fields.registrationExpiry, ntpServer: fields.ntpServer, utcOffset: fields.utcOffset, transport };
const devicePatch = Object.fromEntries(Object.entries(deviceFields).map(([k, v]) => [k, v.nullable().optional()])) as {
  [K in keyof typeof deviceFields]: z.ZodOptional<z.ZodNullable<(typeof deviceFields)[K]>>;
};
/** PATCH body of a device's overrides: a value overrides, null removes the override, absent leaves as is. */
export const DeviceProvisioningPatch = z.strictObject(devicePatch);
export type DeviceProvisioningPatch = z.infer<typeof DeviceProvisioningPatch>;

/** Stored overrides: only keys present in the object; a null removes it. */
export type StoredSettings = Partial<Record<keyof ProvisioningSettings, unknown>>;

/** `stored` with `patch` applied: keys set to null are removed (back to the default). */
export function applyPatch(stored: StoredSettings, patch: Record<string, unknown>): StoredSettings {
  const out: StoredSettings = { ...stored };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null) delete out[k as keyof ProvisioningSettings];
    else out[k as keyof ProvisioningSettings] = v;
  }
  return out;
}

/** The stored values that still pass their rule (others are ignored: their default applies). */
function valid(stored: unknown, allowed: Record<string, z.ZodType>): StoredSettings {
  const out: StoredSettings = {};
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return out;
  for (const [k, v] of Object.entries(stored)) {
    const rule = allowed[k];
    if (rule && v !== null && rule.safeParse(v).success) out[k as keyof ProvisioningSettings] = v;
  }
  return out;
}

/** The settings a device's phone gets: defaults, then the account's values, then the device's overrides. */
export function effectiveSettings(account: unknown, device: unknown = {}): ProvisioningSettings {
  return { ...DEFAULT_SETTINGS, ...valid(account, accountFields), ...valid(device, deviceFields) } as ProvisioningSettings;
}

/** Why a combination of values cannot be used (each value alone passed its rule), or null. */
export function settingsProblem(s: ProvisioningSettings): { field: string; message: string } | null {
  if (s.rtpPortMin >= s.rtpPortMax) return { field: 'rtpPortMax', message: 'must be greater than rtpPortMin' };
  if (s.backupPort !== null && s.backupServer === null) return { field: 'backupPort', message: 'needs backupServer' };
  return null;
}

/** The account-level values only (what GET …/provisioning shows as set), defaults where none is stored. */
export function accountSettings(account: unknown): Omit<ProvisioningSettings, 'transport'> {
  const { transport: _t, ...rest } = effectiveSettings(account);
  return rest;
}

/** The device's stored overrides that still pass their rule. */
export function deviceOverrides(device: unknown): StoredSettings {
  return valid(device, deviceFields);
}
