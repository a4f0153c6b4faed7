import { Pool, PoolClient, PoolConfig } from 'pg';

/** Something that runs SQL: a Pool, or a client inside a transaction. */
export interface Queryable {
  query: Pool['query'];
}

/** A PostgreSQL pool. `schema`, when given, becomes the search_path (tests isolate themselves that way). */
export function createPool(databaseUrl: string, opts: { max?: number; schema?: string } = {}): Pool {
  const config: PoolConfig = {
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
  };
  if (opts.schema) config.options = `-c search_path=${opts.schema}`;
  const pool = new Pool(config);
  // An idle client that loses its connection emits on the pool; without a listener that would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** SQLSTATE of a unique violation (node-postgres DatabaseError.code). */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): err is { code: string; constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** Runs `fn` in one transaction on one pooled connection: committed when it returns, rolled back when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, fn);
  } finally {
    client.release();
  }
}

/** withTransaction on a connection the caller holds (e.g. with a session-level lock on it). */
export async function inTransaction<C extends Queryable, T>(client: C, fn: (client: C) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The SET list of a partial update: `column = $n` for each field of `patch` that is
 * not undefined (its value appended to `values`), then `updated_at = now()`.
 */
export function setClause<P extends object>(patch: P, columns: Record<keyof P, string>, values: unknown[]): string {
  const sets: string[] = [];
  for (const [field, column] of Object.entries(columns) as [keyof P, string][]) {
    if (patch[field] === undefined) continue;
    values.push(patch[field]);
    sets.push(`${column} = $${values.length}`);
  }
  sets.push('updated_at = now()');
  return sets.join(', ');
}
