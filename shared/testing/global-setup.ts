// Jest global setup: the test database must exist before any test file creates its schema in it.
import { createPool } from '../db';
import { ensureDatabase } from '../migrate';
import { testDatabaseUrl } from './env';

export default async function globalSetup(): Promise<void> {
  await ensureDatabase(testDatabaseUrl(), (u) => createPool(u, { max: 1 }));
}
