import { Writable } from 'node:stream';
import pino from 'pino';
import { insertEvents } from '../../shared/events/event-store';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { runEventRetention } from '../events/event-retention';

let db: TestDb;
const logs: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) }));

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

it('gives partition upkeep up rather than make event writes queue behind a long reader', async () => {
  const day = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  await db.pool.query(`DROP TABLE events_p${day}`); // so that the pass has a partition to create
  const reader = await db.pool.connect();
  try {
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM events');
    await runEventRetention(db.pool, 30, log);
    expect(logs.join('')).toMatch(/event retention failed; retried at the next pass/);
    // Writes go on while the reader still holds its lock.
    expect(await insertEvents(db.pool, [{ type: 'account.updated', at: Date.now(), accountId: null, deviceId: null, data: {} }])).toBe(1);
  } finally {
    await reader.query('ROLLBACK');
    reader.release();
  }
  // Once it is gone, the next pass creates the partition.
  await runEventRetention(db.pool, 30, log);
  expect((await db.pool.query('SELECT to_regclass($1) AS t', [`events_p${day}`])).rows[0].t).not.toBeNull();
});
