import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../../shared/db';
import { dropExpiredEvents, ensureEventPartitions } from '../../shared/events/event-store';
import type { Logger } from '../../shared/logger';
import { purgeOldDeliveries } from '../webhooks/webhooks-repo';

/** Day partitions kept ready ahead of today, so writers never fall into the default partition. */
const PARTITION_DAYS_AHEAD = 7;

/** Arbitrary constant: the advisory lock that keeps partition upkeep to one process at a time. */
const RETENTION_LOCK = 4_215_063;

/**
 * Creating or dropping a partition locks the whole events table (ACCESS EXCLUSIVE):
 * behind a long reader it would make every event write queue. Waiting this long at
 * most, it gives up instead (and the next pass tries again).
 */
const DDL_LOCK_TIMEOUT = '1s';

/**
 * Event upkeep, run by every API process at start and hourly (one at a time;
 * the others skip): the next days' partitions, and events and finished webhook
 * deliveries older than `retentionDays` removed (a day partition dropped whole).
 * Failures are logged and left to the next pass.
 */
export async function runEventRetention(pool: Pool, retentionDays: number, log: Logger): Promise<void> {
  let client;
  try {
    client = await pool.connect();
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'event retention skipped: PostgreSQL unavailable; retried at the next pass');
    return;
  }
  let locked = false;
  try {
    locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RETENTION_LOCK])).rows[0]?.ok === true;
    if (!locked) return;
    const ddl = <T>(fn: (db: PoolClient) => Promise<T>): Promise<T> =>
      inTransaction(client, async (db) => {
        await db.query(`SET LOCAL lock_timeout = '${DDL_LOCK_TIMEOUT}'`);
        return fn(db);
      });
    const created = await ddl((db) => ensureEventPartitions(db, PARTITION_DAYS_AHEAD));
    const dropped = await ddl((db) => dropExpiredEvents(db, retentionDays));
    const deliveries = await purgeOldDeliveries(client, retentionDays);
    if (created || dropped || deliveries) log.info({ created, dropped, deliveries, retentionDays }, 'event partitions and retention applied');
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'event retention failed; retried at the next pass');
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]).catch(() => undefined);
    client.release();
  }
}
