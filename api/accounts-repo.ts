import type { Pool, PoolClient } from 'pg';
import { Queryable, setClause, withTransaction } from '../shared/db';
import type { AccountSipSettings } from '../shared/sip-connection';
import { ApiKeyRecord, createApiKey } from './api-keys';
import { NotFoundError } from './errors';
import { ACCOUNT_ID, newAccountId } from './ids';

/** An account as the API returns it. */
export interface AccountRecord extends AccountSipSettings {
  readonly id: string;
  readonly name: string;
  readonly sipDomain: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Fields an operator may change on an account (undefined = unchanged, null = back to the default). */
export interface AccountPatch {
  name?: string;
  sipServer?: string | null;
  sipPort?: number | null;
  outboundProxy?: string | null;
  transportProtocol?: 'UDP' | 'TCP' | 'TLS' | null;
}

/** The accounts row as selected. */
interface AccountRow {
  id: string;
  name: string;
  sip_domain: string;
  sip_server: string | null;
  sip_port: number | null;
  outbound_proxy: string | null;
  transport_protocol: 'UDP' | 'TCP' | 'TLS' | null;
  created_at: Date;
  updated_at: Date;
}

/** Maps an accounts row to its record. */
const toAccountRecord = (r: AccountRow): AccountRecord => ({
  id: r.id,
  name: r.name,
  sipDomain: r.sip_domain,
  sipServer: r.sip_server,
  sipPort: r.sip_port,
  outboundProxy: r.outbound_proxy,
  transportProtocol: r.transport_protocol,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
/** Every column of an account response. */
const ACCOUNT_COLUMNS = 'id, name, sip_domain, sip_server, sip_port, outbound_proxy, transport_protocol, created_at, updated_at';

const PATCH_COLUMNS: Record<keyof AccountPatch, string> = {
  name: 'name',
  sipServer: 'sip_server',
  sipPort: 'sip_port',
  outboundProxy: 'outbound_proxy',
  transportProtocol: 'transport_protocol',
};

/** One account by id, or null. */
export async function getAccount(pool: Pool, id: string): Promise<AccountRecord | null> {
  const { rows } = await pool.query<AccountRow>({ name: 'account-get', text: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, values: [id] });
  return rows[0] ? toAccountRecord(rows[0]) : null;
}

/** Whether an account exists (one indexed lookup). */
export async function accountExists(pool: Pool, id: string): Promise<boolean> {
  if (!ACCOUNT_ID.test(id)) return false;
  const { rowCount } = await pool.query({ name: 'account-exists', text: 'SELECT 1 FROM accounts WHERE id = $1', values: [id] });
  return rowCount === 1;
}

/** The 404 of an account that does not exist. */
export const accountNotFound = (): NotFoundError => new NotFoundError('account-not-found', 'No such account.');

/** 404 `account-not-found` unless the account exists: what the account's sub-resources answer an operator. */
export async function requireAccount(pool: Pool, id: string): Promise<void> {
  if (!(await accountExists(pool, id))) throw accountNotFound();
}

/** Inserts a new account (`sipDomain` already lower-cased by its schema). */
export async function insertAccount(
  client: PoolClient,
  fields: { name: string; sipDomain: string } & Partial<AccountSipSettings>,
): Promise<AccountRecord> {
  const { rows } = await client.query<AccountRow>(
    `INSERT INTO accounts (id, name, sip_domain, sip_server, sip_port, outbound_proxy, transport_protocol)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ACCOUNT_COLUMNS}`,
    [newAccountId(), fields.name, fields.sipDomain, fields.sipServer ?? null, fields.sipPort ?? null, fields.outboundProxy ?? null, fields.transportProtocol ?? null],
  );
  return toAccountRecord(rows[0]!);
}

/**
 * Creates an account and its first API key in one transaction (the caller's when
 * `client` is given); the key is returned once.
 */
export async function createAccountWithKey(
  pool: Pool,
  fields: { name: string; sipDomain: string; keyName: string } & Partial<AccountSipSettings>,
  client?: PoolClient,
): Promise<{ account: AccountRecord; apiKey: ApiKeyRecord; key: string }> {
  if (!client) return withTransaction(pool, (c) => createAccountWithKey(pool, fields, c));
  const account = await insertAccount(client, fields);
  const { record, key } = await createApiKey(client, account.id, fields.keyName);
  return { account, apiKey: record, key };
}

/** Applies `patch` to an account; null when there is no such account. */
export async function updateAccount(db: Queryable, id: string, patch: AccountPatch): Promise<AccountRecord | null> {
  const values: unknown[] = [id];
  const sets = setClause(patch, PATCH_COLUMNS, values);
  const { rows } = await db.query<AccountRow>(`UPDATE accounts SET ${sets} WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`, values);
  return rows[0] ? toAccountRecord(rows[0]) : null;
}

/** One page of accounts in (created_at, id) order after `after` (an account id). */
export async function listAccounts(pool: Pool, after: string | null, limit: number): Promise<{ rows: AccountRecord[]; hasMore: boolean }> {
  const { rows } = after
    ? await pool.query<AccountRow>(
        `SELECT ${ACCOUNT_COLUMNS} FROM accounts
          WHERE (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = $1)
          ORDER BY created_at, id LIMIT $2`,
        [after, limit + 1],
      )
    : await pool.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY created_at, id LIMIT $1`, [limit + 1]);
  return { rows: rows.slice(0, limit).map(toAccountRecord), hasMore: rows.length > limit };
}
