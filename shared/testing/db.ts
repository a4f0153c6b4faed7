import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool } from '../db';
import { migrate } from '../migrate';
import { testDatabaseUrl } from './env';

export interface TestDb {
  readonly pool: Pool;
  /** The schema this test file owns; pass it to createPool({ schema }) for more pools. */
  readonly schema: string;
  readonly databaseUrl: string;
  close(): Promise<void>;
}

/** A fresh, migrated schema for one test file, dropped on close: test files never see each other's rows. */
export async function createTestDb(): Promise<TestDb> {
  const databaseUrl = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = createPool(databaseUrl, { max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const pool = createPool(databaseUrl, { max: 5, schema });
  await migrate(pool);
  let closed = false;
  return {
    pool,
    schema,
    databaseUrl,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
      const drop = createPool(databaseUrl, { max: 1 });
      await drop.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await drop.end();
    },
  };
}
