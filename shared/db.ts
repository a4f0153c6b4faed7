import { Pool, PoolConfig } from 'pg';

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
