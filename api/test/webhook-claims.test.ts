import { createTestDb, TestDb } from '../../shared/testing/db';
import { insertEvents } from '../../shared/events/event-store';
import { claimDeliveries, dispatchEvents, recordAttempt } from '../webhooks/webhooks-repo';

// The delivery outbox's claims, straight against PostgreSQL (no API process claiming alongside).
let db: TestDb;

beforeAll(async () => {
  db = await createTestDb();
  await db.pool.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_a', 'A', 'a.example'), ('acc_b', 'B', 'b.example')");
  await db.pool.query(`INSERT INTO webhooks (id, account_id, url, event_types, secret_enc, failing_since, enabled) VALUES
    ('whk_dead', 'acc_a', 'http://192.0.2.1/', '{*}', 'x', now() - interval '1 hour', true),
    ('whk_off', 'acc_a', 'http://192.0.2.2/', '{*}', 'x', NULL, false),
    ('whk_ok', 'acc_b', 'http://192.0.2.3/', '{*}', 'x', NULL, true)`);
});
afterAll(async () => {
  await db.close();
});

/** `n` due deliveries of a webhook, due since `ageS` seconds ago. */
async function due(webhookId: string, n: number, ageS: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, next_attempt_at)
     SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), $1, 'evt_' || $1 || '_' || i, 'registered', '{}', now() - make_interval(secs => $3)
       FROM generate_series(1, $2) AS i`,
    [webhookId, n, ageS],
  );
}

describe('claiming webhook deliveries', () => {
  it('gives a healthy webhook its turn whatever backlog a failing or disabled one has', async () => {
    await due('whk_dead', 6000, 3600);
    await due('whk_off', 6000, 3600);
    await due('whk_ok', 1, 1);
    const claimed = await claimDeliveries(db.pool, { limit: 10, perWebhook: 4, leaseMs: 60_000 });
    // The failing one: 1 at a time; the disabled one: none; the healthy one: its delivery.
    expect(claimed.map((d) => d.webhook_id).sort()).toEqual(['whk_dead', 'whk_ok']);
    // While those are leased, nothing more of the failing webhook.
    expect((await claimDeliveries(db.pool, { limit: 10, perWebhook: 4, leaseMs: 60_000 })).map((d) => d.webhook_id)).toEqual([]);
  });

  it('records an outcome only while the claim is still this attempt\'s', async () => {
    await db.pool.query("UPDATE webhooks SET failing_since = NULL WHERE id = 'whk_dead'");
    await db.pool.query("UPDATE webhook_deliveries SET lease_until = NULL WHERE webhook_id = 'whk_dead'");
    const [mine] = await claimDeliveries(db.pool, { limit: 1, perWebhook: 1, leaseMs: 60_000 });
    expect(mine).toBeDefined();
    // Its lease ran out and another process took it over (and delivered it).
    await db.pool.query("UPDATE webhook_deliveries SET lease_until = now() + interval '1 minute', state = 'delivered' WHERE id = $1", [mine!.id]);
    expect(await recordAttempt(db.pool, mine!, { status: null, error: 'timed out', next: { state: 'pending', retryAt: new Date(Date.now() + 1000) } })).toBeNull();
    const row = (await db.pool.query('SELECT state FROM webhook_deliveries WHERE id = $1', [mine!.id])).rows[0];
    expect(row.state).toBe('delivered');
    expect((await db.pool.query("SELECT failing_since FROM webhooks WHERE id = 'whk_dead'")).rows[0].failing_since).toBeNull();
    // Its own claim, still held: recorded.
    await db.pool.query("UPDATE webhook_deliveries SET lease_until = NULL WHERE webhook_id = 'whk_dead' AND state = 'pending'");
    const [next] = await claimDeliveries(db.pool, { limit: 1, perWebhook: 1, leaseMs: 60_000 });
    expect(await recordAttempt(db.pool, next!, { status: 500, error: 'HTTP 500', next: { state: 'pending', retryAt: new Date(Date.now() + 1000) } })).toBeInstanceOf(Date);
  });
});

describe('dispatching events into deliveries', () => {
  it('gives a webhook the events of its account and types that happened after it was made, once however often dispatched', async () => {
    await db.pool.query(`INSERT INTO webhooks (id, account_id, url, event_types, secret_enc, created_at) VALUES
      ('whk_new', 'acc_b', 'http://192.0.2.4/', '{registered}', 'x', now() - interval '1 minute'),
      ('whk_later', 'acc_b', 'http://192.0.2.5/', '{*}', 'x', now() + interval '1 hour')`);
    const start = (await db.pool.query("SELECT txid::text, seq::text FROM webhook_dispatch_position")).rows[0];
    await insertEvents(db.pool, [
      { type: 'registered', at: Date.now(), accountId: 'acc_b', deviceId: null, data: { contact: 'sip:1@192.0.2.9' } },
      { type: 'expired', at: Date.now(), accountId: 'acc_b', deviceId: null, data: {} }, // not a type whk_new asked for
      { type: 'registered', at: Date.now() - 3_600_000, accountId: 'acc_b', deviceId: null, data: {} }, // before whk_new was made
    ]);
    const first = await dispatchEvents(db.pool, 100, (e) => JSON.stringify(e));
    expect(first.deliveries).toBe(3); // whk_new's one, and whk_ok's two (acc_b, every type, made before them)
    const rows = async () => (await db.pool.query("SELECT webhook_id, event_type FROM webhook_deliveries WHERE webhook_id IN ('whk_new', 'whk_later')")).rows;
    expect(await rows()).toEqual([{ webhook_id: 'whk_new', event_type: 'registered' }]);
    // A crash after the deliveries but before the position moved: the batch is dispatched again, harmlessly.
    await db.pool.query('UPDATE webhook_dispatch_position SET txid = $1::xid8, seq = $2::bigint', [start.txid, start.seq]);
    expect((await dispatchEvents(db.pool, 100, (e) => JSON.stringify(e))).deliveries).toBe(0);
    expect(await rows()).toHaveLength(1);
  });
});
