import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';

/** migrations/ at the repository root, whether this file runs from source (shared/) or compiled (dist/shared/). */
export const MIGRATIONS_DIR = [join(__dirname, '..', 'migrations'), join(__dirname, '..', '..', 'migrations')].find((d) =>
  existsSync(d),
) ?? join(__dirname, '..', 'migrations');

/** Arbitrary constant: the advisory lock that serialises concurrent migrators. */
const MIGRATION_LOCK = 4_215_060;

/**
 * Applies every `migrations/*.sql` not yet recorded in `schema_migrations`, in
 * name order, each in its own transaction. Safe to run from several processes at once.
 * Returns the names applied.
 */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = readFileSync(join(dir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** Creates the database named in `databaseUrl` if it does not exist (connecting to `postgres` to do so). */
export async function ensureDatabase(databaseUrl: string, makePool: (url: string) => Pool): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name || !/^[A-Za-z0-9_-]+$/.test(name)) return;
  url.pathname = '/postgres';
  const admin = makePool(url.toString());
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await admin.end();
  }
}
