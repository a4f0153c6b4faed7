import { createHash, randomBytes } from 'node:crypto';
import type { CredentialCipher } from '../credentials';
import { generateSipPassword, randomBase62 } from '../credentials';
import type { Queryable } from '../db';
import type { AccountSipSettings } from '../sip-connection';
import { applyPatch, StoredSettings } from './settings';

/**
 * The one module that owns the provisioning tables (migrations/006_provisioning.sql):
 * account HTTP credentials and settings, device overrides and path tokens, and when a
 * device last fetched its file. The API writes through it; the provisioning server
 * reads through it and records fetches. Secrets are encrypted at rest with the SIP
 * passwords' keyring, each bound to its row (a value copied to another row does not
 * decrypt). Functions take a Queryable: the pool, or a client in the caller's
 * transaction (the API commits its audit events with the change).
 */

/** Context a value is encrypted under (AES-GCM additional data). */
const passwordContext = (accountId: string): string => `provisioning:${accountId}`;
const tokenContext = (deviceId: string): string => `provisioning-token:${deviceId}`;

/** Secret path tokens: 32 base62 characters (about 190 bits); looked up by their SHA-256. */
const TOKEN_LENGTH = 32;
export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
export const TOKEN_SHAPE = /^[A-Za-z0-9]{32}$/;

export interface AccountProvisioning {
  accountId: string;
  username: string;
  password: string;
  settings: StoredSettings;
  updatedAt: string;
}

interface AccountProvisioningRow {
  account_id: string;
  http_username: string;
  http_password_enc: string;
  settings: StoredSettings;
  updated_at: string;
}

const ISO_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const ACCOUNT_COLUMNS = `account_id, http_username, http_password_enc, settings, to_char(updated_at AT TIME ZONE 'UTC', ${ISO_MS}) AS updated_at`;

const toAccount = (cipher: CredentialCipher, r: AccountProvisioningRow): AccountProvisioning => ({
  accountId: r.account_id,
  username: r.http_username,
  password: cipher.decrypt(r.http_password_enc, passwordContext(r.account_id)),
  settings: r.settings,
  updatedAt: r.updated_at,
});

/** A fresh HTTP username: `prov-` and 16 hex digits (lower case: phones' forms take it as typed). */
const newUsername = (): string => `prov-${randomBytes(8).toString('hex')}`;

/** SQLSTATE of a foreign key violation: the account does not exist. */
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * The account's provisioning row, created with fresh credentials on first use.
 * Null when the account does not exist.
 */
export async function ensureAccountProvisioning(db: Queryable, cipher: CredentialCipher, accountId: string): Promise<AccountProvisioning | null> {
  const existing = await getAccountProvisioning(db, cipher, accountId);
  if (existing) return existing;
  try {
    await db.query({
      name: 'provisioning-account-insert',
      text: `INSERT INTO account_provisioning (account_id, http_username, http_password_enc) VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING`,
      values: [accountId, newUsername(), cipher.encrypt(generateSipPassword(), passwordContext(accountId))],
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) return null;
    throw err;
  }
  return getAccountProvisioning(db, cipher, accountId);
}

/** The account's provisioning row, or null when none was created yet. */
export async function getAccountProvisioning(db: Queryable, cipher: CredentialCipher, accountId: string, forUpdate = false): Promise<AccountProvisioning | null> {
  const { rows } = await db.query<AccountProvisioningRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM account_provisioning WHERE account_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [accountId],
  );
  return rows[0] ? toAccount(cipher, rows[0]) : null;
}

/** Stores `settings` (already checked by the caller) as the account's. */
export async function saveAccountSettings(db: Queryable, accountId: string, settings: StoredSettings): Promise<void> {
  await db.query('UPDATE account_provisioning SET settings = $2, updated_at = now() WHERE account_id = $1', [accountId, JSON.stringify(settings)]);
}

/** Replaces the account's HTTP password; returns the new one. */
export async function rotateAccountPassword(db: Queryable, cipher: CredentialCipher, accountId: string): Promise<string | null> {
  const password = generateSipPassword();
  const { rowCount } = await db.query('UPDATE account_provisioning SET http_password_enc = $2, updated_at = now() WHERE account_id = $1', [
    accountId,
    cipher.encrypt(password, passwordContext(accountId)),
  ]);
  return rowCount ? password : null;
}

/** The account whose HTTP username this is, with its decrypted password, or null. */
export async function accountByUsername(db: Queryable, cipher: CredentialCipher, username: string): Promise<AccountProvisioning | null> {
  const { rows } = await db.query<AccountProvisioningRow>({
    name: 'provisioning-account-by-username',
    text: `SELECT ${ACCOUNT_COLUMNS} FROM account_provisioning WHERE http_username = $1`,
    values: [username],
  });
  return rows[0] ? toAccount(cipher, rows[0]) : null;
}

/** A device's provisioning row as far as the API shows it. */
export interface DeviceProvisioning {
  settings: StoredSettings;
  /** The decrypted path token, or null. */
  token: string | null;
  lastProvisionedAt: string | null;
}

/** The device's overrides, token and last fetch (defaults when it has no row). `deviceId` must be known to exist. */
export async function getDeviceProvisioning(db: Queryable, cipher: CredentialCipher, deviceId: string, forUpdate = false): Promise<DeviceProvisioning> {
  const { rows } = await db.query<{ settings: StoredSettings; token_enc: string | null; last: string | null }>(
    `SELECT settings, token_enc, to_char(last_provisioned_at AT TIME ZONE 'UTC', ${ISO_MS}) AS last
       FROM device_provisioning WHERE device_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId],
  );
  const r = rows[0];
  if (!r) return { settings: {}, token: null, lastProvisionedAt: null };
  return { settings: r.settings, token: r.token_enc ? cipher.decrypt(r.token_enc, tokenContext(deviceId)) : null, lastProvisionedAt: r.last };
}

/** Applies `patch` to the device's overrides (null removes one); returns the stored overrides. */
export async function patchDeviceSettings(db: Queryable, deviceId: string, current: StoredSettings, patch: Record<string, unknown>): Promise<StoredSettings> {
  const next = applyPatch(current, patch);
  await db.query(
    `INSERT INTO device_provisioning (device_id, settings) VALUES ($1, $2)
     ON CONFLICT (device_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
    [deviceId, JSON.stringify(next)],
  );
  return next;
}

/** Gives the device a new secret path token (replacing any); returns it. */
export async function rotateDeviceToken(db: Queryable, cipher: CredentialCipher, deviceId: string): Promise<string> {
  const token = randomBase62(TOKEN_LENGTH);
  await db.query(
    `INSERT INTO device_provisioning (device_id, token_hash, token_enc) VALUES ($1, $2, $3)
     ON CONFLICT (device_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, token_enc = EXCLUDED.token_enc, updated_at = now()`,
    [deviceId, tokenHash(token), cipher.encrypt(token, tokenContext(deviceId))],
  );
  return token;
}

/** Removes the device's path token; false when it had none. */
export async function removeDeviceToken(db: Queryable, deviceId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE device_provisioning SET token_hash = NULL, token_enc = NULL, updated_at = now() WHERE device_id = $1 AND token_hash IS NOT NULL',
    [deviceId],
  );
  return (rowCount ?? 0) > 0;
}

/** Records a served fetch. */
export async function markProvisioned(db: Queryable, deviceId: string, at: Date): Promise<void> {
  await db.query({
    name: 'provisioning-mark',
    text: `INSERT INTO device_provisioning (device_id, last_provisioned_at) VALUES ($1, $2)
           ON CONFLICT (device_id) DO UPDATE SET last_provisioned_at = GREATEST(device_provisioning.last_provisioned_at, EXCLUDED.last_provisioned_at)`,
    values: [deviceId, at],
  });
}

/** Everything a device's file is rendered from (the password still encrypted). */
export interface ProvisioningRecord {
  deviceId: string;
  accountId: string;
  name: string;
  model: string | null;
  manufacturer: string | null;
  /** Stored form `00:15:65:00:00:01`, or null. */
  macAddress: string | null;
  sipUsername: string;
  sipDomain: string;
  displayName: string | null;
  status: 'active' | 'inactive';
  passwordEnc: string;
  account: AccountSipSettings;
  /** The account's provisioning username, or null when the account has none yet (nothing is served then). */
  httpUsername: string | null;
  accountSettings: StoredSettings;
  deviceSettings: StoredSettings;
  /** SHA-256 of the device's path token, or null. */
  tokenHash: string | null;
}

interface RecordRow {
  device_id: string;
  account_id: string;
  name: string;
  model: string | null;
  manufacturer: string | null;
  mac_address: string | null;
  sip_username: string;
  sip_domain: string;
  display_name: string | null;
  status: 'active' | 'inactive';
  password_enc: string;
  sip_server: string | null;
  sip_port: number | null;
  outbound_proxy: string | null;
  transport_protocol: 'UDP' | 'TCP' | 'TLS' | null;
  http_username: string | null;
  account_settings: StoredSettings | null;
  device_settings: StoredSettings | null;
  token_hash: string | null;
}

const RECORD_SELECT = `
  SELECT d.id AS device_id, d.account_id, d.name, d.model, d.manufacturer, d.mac_address, d.sip_username, d.sip_domain,
         d.display_name, d.status, d.password_enc, a.sip_server, a.sip_port, a.outbound_proxy, a.transport_protocol,
         ap.http_username, ap.settings AS account_settings, dp.settings AS device_settings, dp.token_hash
    FROM devices d
    JOIN accounts a ON a.id = d.account_id
    LEFT JOIN account_provisioning ap ON ap.account_id = d.account_id
    LEFT JOIN device_provisioning dp ON dp.device_id = d.id`;

const toRecord = (r: RecordRow): ProvisioningRecord => ({
  deviceId: r.device_id,
  accountId: r.account_id,
  name: r.name,
  model: r.model,
  manufacturer: r.manufacturer,
  macAddress: r.mac_address,
  sipUsername: r.sip_username,
  sipDomain: r.sip_domain,
  displayName: r.display_name,
  status: r.status,
  passwordEnc: r.password_enc,
  account: { sipServer: r.sip_server, sipPort: r.sip_port, outboundProxy: r.outbound_proxy, transportProtocol: r.transport_protocol },
  httpUsername: r.http_username,
  accountSettings: r.account_settings ?? {},
  deviceSettings: r.device_settings ?? {},
  tokenHash: r.token_hash,
});

/** The device with this MAC (stored form), or null. MACs are unique across accounts. */
export async function recordByMac(db: Queryable, mac: string): Promise<ProvisioningRecord | null> {
  const { rows } = await db.query<RecordRow>({ name: 'provisioning-by-mac', text: `${RECORD_SELECT} WHERE d.mac_address = $1`, values: [mac] });
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The device whose path token has this SHA-256, or null. */
export async function recordByTokenHash(db: Queryable, hash: string): Promise<ProvisioningRecord | null> {
  const { rows } = await db.query<RecordRow>({ name: 'provisioning-by-token', text: `${RECORD_SELECT} WHERE dp.token_hash = $1`, values: [hash] });
  return rows[0] ? toRecord(rows[0]) : null;
}

/** One device of one account, or null. */
export async function recordByDevice(db: Queryable, accountId: string, deviceId: string): Promise<ProvisioningRecord | null> {
  const { rows } = await db.query<RecordRow>({
    name: 'provisioning-by-device',
    text: `${RECORD_SELECT} WHERE d.id = $1 AND d.account_id = $2`,
    values: [deviceId, accountId],
  });
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Decrypts a record's SIP password. */
export function recordPassword(cipher: CredentialCipher, record: ProvisioningRecord): string {
  return cipher.decrypt(record.passwordEnc, record.deviceId);
}
