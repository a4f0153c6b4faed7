// `npm run cli -- <command>`: operator tasks against the database the API uses
// (DATABASE_URL): accounts and API keys. Keys are printed once, on stdout.
import { parseSection } from '../shared/config/env';
import { commonSection } from '../shared/config/common';
import { createPool } from '../shared/db';
import { ensureDatabase, migrate } from '../shared/migrate';
import { accountExists, createAccountWithKey, listAccounts } from '../api/accounts-repo';
import { createApiKey, listApiKeys, revokeApiKey } from '../api/api-keys';
import { ACCOUNT_ID, API_KEY_ID } from '../api/ids';
import { SipDomain } from '../api/schemas';
import type { Pool } from 'pg';

const HELP = `usage: npm run cli -- <command> [options]

  accounts:create --name <name> [--sip-domain <domain>]   create an account and its first API key
  accounts:list                                           list every account
  keys:create (--account <acc_…> | --operator) [--name <name>]
                                                          create an API key (operator keys act on every account)
  keys:list (--account <acc_…> | --operator)              list keys (never their secrets)
  keys:revoke <key_…>                                     revoke a key (other API processes stop accepting it
                                                          within API_KEY_CACHE_TTL_MS)
  help                                                    this text

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sipreg) and SIP_DEFAULT_DOMAIN.`;

/** A mistake in the command line: exit code 64 (EX_USAGE) with the help text. */
export class UsageError extends Error {}

function parseArgs(argv: string[]): { command: string; positional: string[]; flags: Map<string, string | true> } {
  const [command = 'help', ...rest] = argv;
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const next = rest[i + 1];
      if (inline !== undefined) flags.set(name, inline);
      else if (next !== undefined && !next.startsWith('--') && name !== 'operator') {
        flags.set(name, next);
        i++;
      } else flags.set(name, true);
    } else positional.push(a);
  }
  return { command, positional, flags };
}

function str(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** `--account acc_…` or `--operator`: whose keys. */
function owner(flags: Map<string, string | true>): string | null {
  const account = str(flags, 'account');
  if (flags.get('operator') === true) {
    if (account) throw new UsageError('give either --account or --operator');
    return null;
  }
  if (!account) throw new UsageError('give --account <acc_…> or --operator');
  if (!ACCOUNT_ID.test(account)) throw new UsageError(`not an account id: ${account}`);
  return account;
}

/** Runs one CLI command against `pool`, writing its output lines through `print`. */
export async function runCli(pool: Pool, argv: string[], defaultDomain: string, print: (line: string) => void = console.log): Promise<void> {
  const { command, positional, flags } = parseArgs(argv);
  switch (command) {
    case 'accounts:create': {
      const name = str(flags, 'name');
      if (!name) throw new UsageError('accounts:create needs --name');
      const given = str(flags, 'sip-domain') ?? defaultDomain;
      const domain = SipDomain.safeParse(given);
      if (!domain.success) throw new UsageError(`not a SIP domain: ${given}`);
      const sipDomain = domain.data;
      const r = await createAccountWithKey(pool, { name, sipDomain, keyName: 'default' });
      print(`account ${r.account.id}  name=${JSON.stringify(r.account.name)}  sipDomain=${r.account.sipDomain}`);
      print(`api key ${r.apiKey.id}: ${r.key}`);
      print('The key is shown once; send it as the X-Auth-Token header.');
      return;
    }
    case 'accounts:list': {
      let after: string | null = null;
      for (;;) {
        const page: Awaited<ReturnType<typeof listAccounts>> = await listAccounts(pool, after, 200);
        for (const a of page.rows) print(`${a.id}  ${a.sipDomain}  ${a.createdAt.toISOString()}  ${JSON.stringify(a.name)}`);
        if (!page.hasMore) return;
        after = page.rows[page.rows.length - 1]!.id;
      }
    }
    case 'keys:create': {
      const accountId = owner(flags);
      if (accountId && !(await accountExists(pool, accountId))) throw new UsageError(`no such account: ${accountId}`);
      const { record, key } = await createApiKey(pool, accountId, str(flags, 'name') ?? (accountId ? 'cli' : 'operator'));
      print(`api key ${record.id} (${accountId ?? 'operator'}): ${key}`);
      print('The key is shown once; send it as the X-Auth-Token header.');
      return;
    }
    case 'keys:list': {
      for (const k of await listApiKeys(pool, owner(flags))) {
        print(`${k.id}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}  created ${k.createdAt.toISOString()}  ${JSON.stringify(k.name)}`);
      }
      return;
    }
    case 'keys:revoke': {
      const keyId = positional[0];
      if (!keyId || !API_KEY_ID.test(keyId)) throw new UsageError('keys:revoke needs a key id (key_…)');
      const { rows } = await pool.query<{ account_id: string | null }>('SELECT account_id FROM api_keys WHERE id = $1', [keyId]);
      if (!rows[0]) throw new UsageError(`no such key: ${keyId}`);
      const r = await revokeApiKey(pool, rows[0].account_id, keyId);
      print(`revoked ${keyId} at ${r!.revokedAt!.toISOString()}`);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      print(HELP);
      return;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

async function main(): Promise<void> {
  const cfg = parseSection(commonSection);
  const argv = process.argv.slice(2);
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    console.log(HELP);
    return;
  }
  await ensureDatabase(cfg.DATABASE_URL, (u) => createPool(u, { max: 1 }));
  const pool = createPool(cfg.DATABASE_URL, { max: 2 });
  try {
    await migrate(pool);
    await runCli(pool, argv, cfg.SIP_DEFAULT_DOMAIN);
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    if (err instanceof UsageError) {
      console.error(`cli: ${err.message}\n\n${HELP}`);
      process.exit(64);
    }
    console.error(`cli: ${err.message}`);
    process.exit(1);
  });
}
