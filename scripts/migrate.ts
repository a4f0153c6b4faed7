// `npm run migrate`: creates the database if needed and applies pending SQL migrations.
import { parseSection } from '../shared/config/env';
import { commonSection } from '../shared/config/common';
import { createPool } from '../shared/db';
import { ensureDatabase, migrate } from '../shared/migrate';

async function main(): Promise<void> {
  const cfg = parseSection(commonSection);
  await ensureDatabase(cfg.DATABASE_URL, (u) => createPool(u, { max: 1 }));
  const pool = createPool(cfg.DATABASE_URL, { max: 1 });
  try {
    const applied = await migrate(pool);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`migrate: ${err.message}`);
  process.exit(1);
});
