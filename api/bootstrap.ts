import type { Pool } from 'pg';
import { withTransaction } from '../shared/db';
import { createApiKey } from './api-keys';
import { AccountRecord, insertAccount } from './accounts-repo';

/** Arbitrary constant: the advisory lock that makes concurrent bootstraps create one account. */
const BOOTSTRAP_LOCK = 4_215_061;

/** What a first start created: shown once to the operator, never logged. */
export interface BootstrapResult {
  readonly account: AccountRecord;
  /** Operator (platform-wide) key. */
  readonly adminKeyId: string;
  readonly adminKey: string;
}

/**
 * On a database with no account, creates a bootstrap account and an operator
 * key. Returns null when accounts already exist (nothing is created). Safe to
 * run from several processes at once.
 */
export async function bootstrap(pool: Pool, opts: { sipDomain: string; accountName?: string }): Promise<BootstrapResult | null> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
    const { rowCount } = await client.query('SELECT 1 FROM accounts LIMIT 1');
    if (rowCount) return null;
    const account = await insertAccount(client, { name: opts.accountName ?? 'Bootstrap account', sipDomain: opts.sipDomain });
    const { record, key } = await createApiKey(client, null, 'bootstrap admin');
    return { account, adminKeyId: record.id, adminKey: key };
  });
}

/** The text printed once on stdout after a bootstrap: the key and how to use it. */
export function bootstrapMessage(result: BootstrapResult, baseUrl: string): string {
  return [
    '',
    '================ first start: bootstrap account and operator key ================',
    `  account id : ${result.account.id} (SIP domain ${result.account.sipDomain})`,
    `  admin key  : ${result.adminKey}`,
    '  This key is shown once; it is stored only as an argon2id hash.',
    '  Try it:',
    `    curl -X POST ${baseUrl}/v2/accounts/${result.account.id}/devices/sip \\`,
    '      -H "Content-Type: application/json" -H "X-Auth-Token: <admin key>" \\',
    '      -d \'{"name":"Desk Phone","sipUsername":"1001"}\'',
    '  More keys and accounts: npm run cli -- help',
    '==================================================================================',
    '',
  ].join('\n');
}
