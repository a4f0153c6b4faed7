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

it('lets one process at a time keep the partitions, and drops deliveries past the retention', async () => {
  const day = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  await db.pool.query(`DROP TABLE events_p${day}`);
  const exists = async () => (await db.pool.query('SELECT to_regclass($1) AS t', [`events_p${day}`])).rows[0].t !== null;
  const other = await db.pool.connect();
  try {
    await other.query('SELECT pg_advisory_lock(4215063)'); // another process's pass
    await runEventRetention(db.pool, 30, log);
    expect(await exists()).toBe(false);
  } finally {
    await other.query('SELECT pg_advisory_unlock(4215063)');
    other.release();
  }
  await db.pool.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_r', 'R', 'r.example')");
  await db.pool.query("INSERT INTO webhooks (id, account_id, url, event_types, secret_enc) VALUES ('whk_r', 'acc_r', 'http://192.0.2.1/', '{*}', 'x')");
  await db.pool.query(`INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, state, finished_at, created_at) VALUES
    ('dlv_old', 'whk_r', 'evt_1', 'registered', '{}', 'delivered', now() - interval '31 days', now() - interval '31 days'),
    ('dlv_new', 'whk_r', 'evt_2', 'registered', '{}', 'delivered', now(), now()),
    ('dlv_stuck', 'whk_r', 'evt_3', 'registered', '{}', 'pending', NULL, now() - interval '31 days')`);
  await runEventRetention(db.pool, 30, log);
  expect(await exists()).toBe(true);
  expect((await db.pool.query('SELECT id FROM webhook_deliveries ORDER BY id')).rows.map((r: { id: string }) => r.id)).toEqual(['dlv_new']);
});
