import type { Pool } from 'pg';
import { ApiKeyRecord, createApiKey } from './api-keys';
import { newAccountId } from './ids';

/** An account as the API returns it. */
export interface AccountRecord {
  readonly id: string;
  readonly name: string;
  readonly sipDomain: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface AccountRow {
  id: string;
  name: string;
  sip_domain: string;
  created_at: Date;
  updated_at: Date;
}

const toRecord = (r: AccountRow): AccountRecord => ({ id: r.id, name: r.name, sipDomain: r.sip_domain, createdAt: r.created_at, updatedAt: r.updated_at });
const COLUMNS = 'id, name, sip_domain, created_at, updated_at';

export async function getAccount(pool: Pool, id: string): Promise<AccountRecord | null> {
  const { rows } = await pool.query<AccountRow>({ name: 'account-get', text: `SELECT ${COLUMNS} FROM accounts WHERE id = $1`, values: [id] });
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function accountExists(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query({ name: 'account-exists', text: 'SELECT 1 FROM accounts WHERE id = $1', values: [id] });
  return rowCount === 1;
}

/** Creates an account and its first API key in one transaction; the key is returned once. */
export async function createAccountWithKey(pool: Pool, fields: { name: string; sipDomain: string; keyName: string }): Promise<{ account: AccountRecord; apiKey: ApiKeyRecord; key: string }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<AccountRow>(
      `INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
      [newAccountId(), fields.name, fields.sipDomain],
    );
    const account = toRecord(rows[0]!);
    const { record, key } = await createApiKey(client, account.id, fields.keyName);
    await client.query('COMMIT');
    return { account, apiKey: record, key };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One page of accounts in (created_at, id) order after `after` (an account id). */
export async function listAccounts(pool: Pool, after: string | null, limit: number): Promise<{ rows: AccountRecord[]; hasMore: boolean }> {
  const { rows } = after
    ? await pool.query<AccountRow>(
        `SELECT ${COLUMNS} FROM accounts
          WHERE (created_at, id) > (SELECT created_at, id FROM accounts WHERE id = $1)
          ORDER BY created_at, id LIMIT $2`,
        [after, limit + 1],
      )
    : await pool.query<AccountRow>(`SELECT ${COLUMNS} FROM accounts ORDER BY created_at, id LIMIT $1`, [limit + 1]);
  return { rows: rows.slice(0, limit).map(toRecord), hasMore: rows.length > limit };
}
