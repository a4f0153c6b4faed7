import pino from 'pino';
import type { NewEvent } from '../events/catalog';
import { dropExpiredEvents, ensureEventPartitions, insertEvents, listEvents, Position, positionBefore, tailEvents, tailHorizon } from '../events/event-store';
import { EventWriter } from '../events/event-writer';
import { createPool, Queryable } from '../db';
import { createTestDb, TestDb } from '../testing/db';
import { until } from '../testing/wait';

let db: TestDb;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createTestDb();
  await db.pool.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_a', 'A', 'a.example'), ('acc_b', 'B', 'b.example')");
  await db.pool.query(`INSERT INTO devices (id, account_id, name, sip_username, sip_domain, password_enc, ha1_md5, ha1_sha256)
                       VALUES ('dev_sip_a1', 'acc_a', 'a1', 'a1', 'a.example', 'x', 'x', 'x')`);
});
afterAll(async () => {
  await db.close();
});

const ev = (over: Partial<NewEvent> = {}): NewEvent => ({ type: 'registered', at: Date.now(), accountId: 'acc_a', deviceId: 'dev_sip_a1', data: { sourceIp: '192.0.2.1' }, ...over });

/** Every event of account `acc` after `from`, read in tail order page by page. */
async function tailAll(from: Position, acc: string): Promise<{ ids: string[]; next: Position }> {
  const ids: string[] = [];
  let pos = from;
  for (;;) {
    const page = await tailEvents(db.pool, pos, { accountIds: [acc], limit: 4 });
    ids.push(...page.events.map((e) => e.id));
    pos = page.next;
    if (page.events.length < 4) return { ids, next: pos };
  }
}

describe('the event store', () => {
  it('lists newest first across pages, past sequence numbers of more digits (numeric, not text, order)', async () => {
    const written = [];
    for (let i = 0; i < 25; i++) written.push(ev({ data: { contact: `sip:${i}@192.0.2.1` } }));
    expect(await insertEvents(db.pool, written)).toBe(25);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: Awaited<ReturnType<typeof listEvents>> = await listEvents(db.pool, { accountId: 'acc_a', deviceId: 'dev_sip_a1' }, {}, cursor, 7);
      seen.push(...page.events.map((e) => String(e.data.contact)));
      cursor = page.next;
      if (!cursor) break;
    }
    expect(seen).toEqual(written.map((e) => e.data.contact).reverse());
    // The tail order too: one transaction, sequence numbers 1 to 25.
    const tailed = await tailAll({ txid: '0', seq: '0' }, 'acc_a');
    expect(tailed.ids).toEqual((await listEvents(db.pool, { accountId: 'acc_a' }, {}, null, 25)).events.map((e) => e.id).reverse());
  });

  it('takes the account of an event that names only a device, and keeps other accounts\' and unattributed events apart', async () => {
    await insertEvents(db.pool, [
      ev({ type: 'expired', accountId: null, data: { contact: 'sip:from-the-reaper@192.0.2.1' } }),
      ev({ type: 'auth_failed', accountId: null, deviceId: null, data: { reason: 'unknown_user', sipUser: 'x@a.example' } }),
      ev({ type: 'device.created', accountId: 'acc_b', deviceId: 'dev_sip_b1', data: {} }),
      ev({ type: 'account.updated', accountId: 'acc_a', deviceId: null, data: {} }), // no device, but an account's
    ]);
    const a = await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['expired'] }, null, 10);
    expect(a.events.map((e) => [e.accountId, e.deviceId, e.data.contact])).toEqual([['acc_a', 'dev_sip_a1', 'sip:from-the-reaper@192.0.2.1']]);
    const none = await listEvents(db.pool, { unattributed: true }, {}, null, 10);
    expect(none.events.map((e) => e.data.reason)).toEqual(['unknown_user']);
    expect((await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['device.created'] }, null, 10)).events).toEqual([]);
    expect((await listEvents(db.pool, { accountId: 'acc_b' }, {}, null, 10)).events.map((e) => e.type)).toEqual(['device.created']);
  });

  it('stores what a device sent even with NUL, lone surrogates or huge text, without failing the batch', async () => {
    const nasty = `ua\u0000with NUL \ud800 lone ${'x'.repeat(5000)}`;
    expect(await insertEvents(db.pool, [ev({ data: { userAgent: nasty, changed: ['userAgent\u0000'] } }), ev({ type: 'refreshed' })])).toBe(2);
    const [refreshed, registered] = (await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['registered', 'refreshed'] }, null, 2)).events;
    expect(refreshed!.type).toBe('refreshed');
    const ua = String(registered!.data.userAgent);
    expect(ua.startsWith('ua\uFFFDwith NUL \uFFFD lone x')).toBe(true);
    expect(ua.length).toBe(1024);
    expect(registered!.data.changed).toEqual(['userAgent\uFFFD']);
  });

  it('tails in commit order: an event of a transaction still running is not passed over, and is read once it commits', async () => {
    const start = await tailHorizon(db.pool);
    await insertEvents(db.pool, [ev({ accountId: 'acc_b', deviceId: null, type: 'account.updated', data: { name: 'before' } })]);
    // A slow writer: its event has a lower sequence number than the next one, but commits after it.
    const slow = await db.pool.connect();
    await slow.query('BEGIN');
    await insertEvents(slow, [ev({ accountId: 'acc_b', deviceId: null, type: 'account.updated', data: { name: 'slow' } })]);
    await insertEvents(db.pool, [ev({ accountId: 'acc_b', deviceId: null, type: 'account.updated', data: { name: 'after' } })]);
    const early = await tailAll(start, 'acc_b');
    const names = async (ids: string[]) => (await listEvents(db.pool, { accountId: 'acc_b' }, {}, null, 100)).events.filter((e) => ids.includes(e.id)).map((e) => e.data.name).reverse();
    expect(await names(early.ids)).toEqual(['before']); // 'after' waits behind the running transaction
    await slow.query('COMMIT');
    slow.release();
    const late = await tailAll(early.next, 'acc_b');
    expect(await names(late.ids)).toEqual(['slow', 'after']);
    // A page that is not full ends at the horizon (the start of a transaction not read yet), not at its last event.
    expect(late.next.seq).toBe('0');
    expect((await tailAll(late.next, 'acc_b')).ids).toEqual([]);
    expect(positionBefore(start, late.next)).toBe(true);
  });

  it('keeps day partitions ready and drops those past the retention', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const day = old.toISOString().slice(0, 10);
    await db.pool.query(`CREATE TABLE events_p${day.replace(/-/g, '')} PARTITION OF events FOR VALUES FROM ('${day}T00:00:00Z') TO ('${day}T00:00:00Z'::timestamptz + interval '1 day')`);
    await insertEvents(db.pool, [ev({ at: old.getTime(), data: { contact: 'sip:old@192.0.2.1' } })]);
    expect(await ensureEventPartitions(db.pool, 7)).toBe(0); // the migration made them
    expect(await ensureEventPartitions(db.pool, 9)).toBe(2);
    expect(await dropExpiredEvents(db.pool, 30)).toBe(1);
    const left = await listEvents(db.pool, { accountId: 'acc_a' }, {}, null, 200);
    expect(left.events.some((e) => e.data.contact === 'sip:old@192.0.2.1')).toBe(false);
    expect(left.events.length).toBeGreaterThan(20);
  });
});

describe('the event writer', () => {
  it('writes in the background, in order, and drops (counted) what does not fit while PostgreSQL is away', async () => {
    const dead = createPool('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const dropped: string[] = [];
    const w = new EventWriter(dead, { flushIntervalMs: 10, batchSize: 10, maxQueued: 5, log: silent, onDropped: (reason, n) => dropped.push(`${reason}:${n}`) });
    for (let i = 0; i < 8; i++) w.record(ev());
    expect(w.queued).toBe(5);
    expect(dropped).toEqual(['queue_full:1', 'queue_full:1', 'queue_full:1']);
    await w.stop(200);
    expect(dropped).toContain('shutdown:5');
    await dead.end();

    let written = 0;
    const live = new EventWriter(db.pool, { flushIntervalMs: 10, batchSize: 3, maxQueued: 100, log: silent, onWritten: (n) => (written += n) });
    for (let i = 0; i < 7; i++) live.record(ev({ type: 'refreshed', data: { contact: `sip:w${i}@192.0.2.1` } }));
    await until(async () => written === 7, 3000, 'seven events written');
    const got = (await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['refreshed'] }, null, 7)).events.map((e) => e.data.contact);
    expect(got).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `sip:w${i}@192.0.2.1`));
    await live.stop(1000);
  });

  it('keeps the order when a batch fails and is retried', async () => {
    let calls = 0;
    const flaky: Queryable = {
      query: ((...args: Parameters<Queryable['query']>) => {
        if (calls++ === 0) return Promise.reject(Object.assign(new Error('connection terminated'), { code: '57P01' }));
        return (db.pool.query as (...a: unknown[]) => unknown)(...args);
      }) as Queryable['query'],
    };
    let written = 0;
    const w = new EventWriter(flaky, { flushIntervalMs: 10, batchSize: 2, maxQueued: 100, log: silent, onWritten: (n) => (written += n) });
    for (let i = 0; i < 5; i++) w.record(ev({ type: 'unregistered', data: { contact: `sip:o${i}@192.0.2.1` } }));
    await until(async () => written === 5, 5000, 'five events written after a failed batch');
    const got = (await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['unregistered'] }, null, 5)).events.map((e) => e.data.contact);
    expect(got).toEqual([4, 3, 2, 1, 0].map((i) => `sip:o${i}@192.0.2.1`));
    await w.stop(1000);
  });

  it('loses only the event PostgreSQL refuses, not its batch', async () => {
    let written = 0;
    const dropped: string[] = [];
    const w = new EventWriter(db.pool, { flushIntervalMs: 10, batchSize: 10, maxQueued: 100, log: silent, onWritten: (n) => (written += n), onDropped: (r, n) => dropped.push(`${r}:${n}`) });
    w.record(ev({ type: 'blocked', data: { failures: 1 } }));
    w.record(ev({ type: 'blocked', at: 1e19, data: { failures: 2 } })); // a time PostgreSQL cannot hold (past bigint)
    w.record(ev({ type: 'blocked', data: { failures: 3 } }));
    await until(async () => written === 2 && dropped.length === 1, 3000, 'two written, one dropped');
    expect(dropped).toEqual(['unstorable:1']);
    const got = (await listEvents(db.pool, { accountId: 'acc_a' }, { types: ['blocked'] }, null, 10)).events.map((e) => e.data.failures);
    expect(got).toEqual([3, 1]);
    await w.stop(1000);
  });
});
