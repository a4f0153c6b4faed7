import type { Pool, PoolClient } from 'pg';
import { CredentialCipher, generateSipPassword, storedCredentials } from '../shared/credentials';
import { Queryable, setClause, withTransaction } from '../shared/db';
import type { AccountSipSettings } from '../shared/sip-connection';
import type { KeysetCursor } from './cursors';
import { mapUniqueViolation } from './db-errors';
import { NotFoundError } from './errors';
import { newDeviceId } from './ids';

/**
 * SQL of the devices table. Every statement that a hot endpoint runs is a
 * named (prepared) statement and touches one row by primary key, or one index
 * range for listing. Credential columns are only selected where needed.
 */

/** The columns every device response is built from (never password or HA1). */
export interface DeviceRow {
  id: string;
  account_id: string;
  name: string;
  model: string | null;
  manufacturer: string | null;
  mac_address: string | null;
  sip_username: string;
  sip_domain: string;
  display_name: string | null;
  assigned_user: string | null;
  status: 'active' | 'inactive';
  /** When its phone last fetched its configuration file (device_provisioning), ISO 8601, or null. */
  last_provisioned: string | null;
  /** ISO 8601 UTC with milliseconds, formatted by PostgreSQL (no Date round trip per row). */
  created_at: string;
  updated_at: string;
}

const ISO_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const COLUMNS = `id, account_id, name, model, manufacturer, mac_address, sip_username, sip_domain, display_name, assigned_user, status,
  (SELECT to_char(p.last_provisioned_at AT TIME ZONE 'UTC', ${ISO_MS}) FROM device_provisioning p WHERE p.device_id = devices.id) AS last_provisioned,
  to_char(created_at AT TIME ZONE 'UTC', ${ISO_MS}) AS created_at, to_char(updated_at AT TIME ZONE 'UTC', ${ISO_MS}) AS updated_at`;

/** The 404 of a device route (also for another tenant's device: its id is not confirmed). */
export const deviceNotFound = (): NotFoundError => new NotFoundError('device-not-found', 'No such device in this account.');

/** Fields settable at creation (macAddress already normalised). */
export interface NewDevice {
  name: string;
  model: string | null;
  manufacturer: string | null;
  macAddress: string | null;
  sipUsername: string;
  displayName: string | null;
  assignedUser: string | null;
}

/** Fields a PATCH may change; undefined = leave as is, null = clear. */
export interface DevicePatch {
  name?: string;
  model?: string | null;
  manufacturer?: string | null;
  macAddress?: string | null;
  displayName?: string | null;
  assignedUser?: string | null;
  status?: 'active' | 'inactive';
}

const PATCH_COLUMNS: Record<keyof DevicePatch, string> = {
  name: 'name',
  model: 'model',
  manufacturer: 'manufacturer',
  macAddress: 'mac_address',
  displayName: 'display_name',
  assignedUser: 'assigned_user',
  status: 'status',
};

/** Filters of the list endpoint (all exact except `name`, a case-insensitive substring). */
export interface DeviceFilters {
  status?: 'active' | 'inactive';
  assignedUser?: string;
  macAddress?: string;
  sipUsername?: string;
  name?: string;
}


/**
 * The devices table, with credentials generated and encrypted on the way in.
 * Writes take an optional `db`: a client inside the caller's transaction (the
 * audit log commits its events with the change), else the pool.
 */
export class DevicesRepo {
  constructor(private readonly pool: Pool, private readonly cipher: CredentialCipher) {}

  /** One device of one account, by primary key. */
  async get(accountId: string, deviceId: string): Promise<DeviceRow | null> {
    const { rows } = await this.pool.query<DeviceRow>({
      name: 'device-get',
      text: `SELECT ${COLUMNS} FROM devices WHERE id = $1 AND account_id = $2`,
      values: [deviceId, accountId],
    });
    return rows[0] ?? null;
  }

  /**
   * Creates a device in `accountId` with a fresh password; null when the
   * account does not exist. Duplicate sipUsername/macAddress → ConflictError
   * (the unique constraints decide, so concurrent creates yield exactly one row).
   */
  async create(accountId: string, fields: NewDevice, db: Queryable = this.pool): Promise<{ row: DeviceRow; password: string } | null> {
    const account = await db.query<{ sip_domain: string }>({
      name: 'account-domain',
      text: 'SELECT sip_domain FROM accounts WHERE id = $1',
      values: [accountId],
    });
    const sipDomain = account.rows[0]?.sip_domain;
    if (sipDomain === undefined) return null;
    const id = newDeviceId();
    const password = generateSipPassword();
    const creds = storedCredentials(this.cipher, { id, sipUsername: fields.sipUsername, sipDomain }, password);
    try {
      const { rows } = await db.query<DeviceRow>({
        name: 'device-insert',
        text: `INSERT INTO devices (id, account_id, name, model, manufacturer, mac_address, sip_username, sip_domain,
                 display_name, assigned_user, password_enc, ha1_md5, ha1_sha256)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
        values: [id, accountId, fields.name, fields.model, fields.manufacturer, fields.macAddress, fields.sipUsername, sipDomain,
          fields.displayName, fields.assignedUser, creds.passwordEnc, creds.ha1Md5, creds.ha1Sha256],
      });
      return { row: rows[0]!, password };
    } catch (err) {
      throw mapUniqueViolation(err);
    }
  }

  /** Applies `patch`; returns the updated row, or null when there is no such device. */
  async update(accountId: string, deviceId: string, patch: DevicePatch, db: Queryable = this.pool): Promise<DeviceRow | null> {
    const values: unknown[] = [deviceId, accountId];
    const sets = setClause(patch, PATCH_COLUMNS, values);
    try {
      const { rows } = await db.query<DeviceRow>(
        `UPDATE devices SET ${sets} WHERE id = $1 AND account_id = $2 RETURNING ${COLUMNS}`,
        values,
      );
      return rows[0] ?? null;
    } catch (err) {
      throw mapUniqueViolation(err);
    }
  }

  /**
   * Deletes a device; returns what the registrar caches are keyed by, or null when there is none.
   * The same statement (so the same transaction) writes the device's tombstone: its SIP identity and
   * last HA1 values, which let the registrar answer 403 to the deleted phone once it proves the old
   * password (docs/registrar.md). A tombstone of an earlier device with this identity is replaced.
   * Creating a device with this identity again leaves the tombstone alone: the registrar reads the
   * live row and the tombstone in one query and the live row always wins, so the tombstone only
   * matters again if the identity is deleted (and then replaced) or until the retention purge.
   */
  async delete(accountId: string, deviceId: string, db: Queryable = this.pool): Promise<{ sipUsername: string; sipDomain: string } | null> {
    const { rows } = await db.query<{ sip_username: string; sip_domain: string }>({
      name: 'device-delete',
      text: `WITH gone AS (
               DELETE FROM devices WHERE id = $1 AND account_id = $2
               RETURNING id, account_id, sip_username, sip_domain, ha1_md5, ha1_sha256)
             INSERT INTO device_tombstones (sip_domain, sip_username, ha1_md5, ha1_sha256, device_id, account_id, deleted_at)
             SELECT sip_domain, sip_username, ha1_md5, ha1_sha256, id, account_id, now() FROM gone
             ON CONFLICT (sip_domain, sip_username) DO UPDATE
               SET ha1_md5 = EXCLUDED.ha1_md5, ha1_sha256 = EXCLUDED.ha1_sha256, device_id = EXCLUDED.device_id,
                   account_id = EXCLUDED.account_id, deleted_at = EXCLUDED.deleted_at
             RETURNING sip_username, sip_domain`,
      values: [deviceId, accountId],
    });
    const r = rows[0];
    return r ? { sipUsername: r.sip_username, sipDomain: r.sip_domain } : null;
  }

  /** The device's SIP identity, decrypted password and its account's SIP settings, or null. */
  async credentials(accountId: string, deviceId: string): Promise<({ sipUsername: string; sipDomain: string; password: string } & AccountSipSettings) | null> {
    const { rows } = await this.pool.query<{
      sip_username: string;
      sip_domain: string;
      password_enc: string;
      sip_server: string | null;
      sip_port: number | null;
      outbound_proxy: string | null;
      transport_protocol: 'UDP' | 'TCP' | 'TLS' | null;
    }>({
      name: 'device-credentials',
      text: `SELECT d.sip_username, d.sip_domain, d.password_enc, a.sip_server, a.sip_port, a.outbound_proxy, a.transport_protocol
               FROM devices d JOIN accounts a ON a.id = d.account_id
              WHERE d.id = $1 AND d.account_id = $2`,
      values: [deviceId, accountId],
    });
    const r = rows[0];
    if (!r) return null;
    return {
      sipUsername: r.sip_username,
      sipDomain: r.sip_domain,
      password: this.cipher.decrypt(r.password_enc, deviceId),
      sipServer: r.sip_server,
      sipPort: r.sip_port,
      outboundProxy: r.outbound_proxy,
      transportProtocol: r.transport_protocol,
    };
  }

  /**
   * Replaces the password. With a grace period the current HA1 values move to
   * prev_* with prev_expires_at = `expiresAt`, so the registrar accepts the old
   * password until then; without one the prev_* columns are cleared and the old
   * password stops at once. The row is locked so concurrent resets serialise: in the
   * caller's transaction when `client` is given, else in one of its own.
   */
  async resetPassword(
    accountId: string,
    deviceId: string,
    expiresAt: Date,
    keepPrevious: boolean,
    client?: PoolClient,
  ): Promise<{ password: string; sipUsername: string; sipDomain: string } | null> {
    if (!client) return withTransaction(this.pool, (c) => this.resetPassword(accountId, deviceId, expiresAt, keepPrevious, c));
    const { rows } = await client.query<{ sip_username: string; sip_domain: string }>(
      'SELECT sip_username, sip_domain FROM devices WHERE id = $1 AND account_id = $2 FOR UPDATE',
      [deviceId, accountId],
    );
    const r = rows[0];
    if (!r) return null;
    const password = generateSipPassword();
    const creds = storedCredentials(this.cipher, { id: deviceId, sipUsername: r.sip_username, sipDomain: r.sip_domain }, password);
    await client.query(
      keepPrevious
        ? `UPDATE devices SET prev_ha1_md5 = ha1_md5, prev_ha1_sha256 = ha1_sha256, prev_expires_at = $5,
             password_enc = $2, ha1_md5 = $3, ha1_sha256 = $4, updated_at = now() WHERE id = $1`
        : `UPDATE devices SET prev_ha1_md5 = NULL, prev_ha1_sha256 = NULL, prev_expires_at = NULL,
             password_enc = $2, ha1_md5 = $3, ha1_sha256 = $4, updated_at = now() WHERE id = $1`,
      keepPrevious ? [deviceId, creds.passwordEnc, creds.ha1Md5, creds.ha1Sha256, expiresAt] : [deviceId, creds.passwordEnc, creds.ha1Md5, creds.ha1Sha256],
    );
    return { password, sipUsername: r.sip_username, sipDomain: r.sip_domain };
  }

  /**
   * One page of an account's devices in (created_at, id) order, walking the
   * devices_account_order_idx index from `after`. Returns up to `limit` rows
   * and the cursor of the last one.
   */
  async list(accountId: string, filters: DeviceFilters, after: KeysetCursor | null, limit: number): Promise<{ rows: DeviceRow[]; hasMore: boolean; last: KeysetCursor | null }> {
    const where = ['account_id = $1'];
    const values: unknown[] = [accountId];
    /** The prepared statement's name says which clauses its text has, so it is built with them. */
    let shape = '';
    const add = (tag: string, sql: (p: string) => string, v: unknown): void => {
      values.push(v);
      where.push(sql(`$${values.length}`));
      shape += tag;
    };
    if (filters.status !== undefined) add('s', (p) => `status = ${p}`, filters.status);
    if (filters.assignedUser !== undefined) add('a', (p) => `assigned_user = ${p}`, filters.assignedUser);
    if (filters.macAddress !== undefined) add('m', (p) => `mac_address = ${p}`, filters.macAddress);
    if (filters.sipUsername !== undefined) add('u', (p) => `sip_username = ${p}`, filters.sipUsername);
    if (filters.name !== undefined) add('n', (p) => `name ILIKE ${p}`, `%${filters.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (after) {
      values.push(after.createdAt, after.id);
      where.push(`(created_at, id) > ($${values.length - 1}::timestamptz, $${values.length})`);
      shape += 'c';
    }
    values.push(limit + 1);
    const { rows } = await this.pool.query<DeviceRow & { cursor_ts: string }>({
      name: `device-list-${shape}`,
      text: `SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts
               FROM devices WHERE ${where.join(' AND ')}
              ORDER BY devices.created_at, devices.id LIMIT $${values.length}`,
      values,
    });
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    const lastRow = page[page.length - 1];
    return { rows: page, hasMore, last: lastRow ? { createdAt: lastRow.cursor_ts, id: lastRow.id } : null };
  }
}

/** Rows one purge statement removes at most (one short transaction each). */
const PURGE_BATCH = 1_000;
/** Statements one purge pass runs at most; a larger backlog is finished by the next passes. */
const PURGE_MAX_BATCHES = 20;

/**
 * Removes device tombstones older than `retentionDays`, oldest first, in
 * bounded batches (at most PURGE_BATCH × PURGE_MAX_BATCHES rows per call).
 * Returns how many rows it removed. Safe to run from several API processes.
 */
export async function purgeDeviceTombstones(pool: Pool, retentionDays: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < PURGE_MAX_BATCHES; i++) {
    const { rowCount } = await pool.query({
      name: 'device-tombstones-purge',
      text: `DELETE FROM device_tombstones WHERE (sip_domain, sip_username) IN (
               SELECT sip_domain, sip_username FROM device_tombstones
                WHERE deleted_at < now() - make_interval(days => $1)
                ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      values: [retentionDays, PURGE_BATCH],
    });
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PURGE_BATCH) break;
  }
  return total;
}
