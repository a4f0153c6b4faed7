import pino from 'pino';
import { createPool } from '../../shared/db';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { AuditLog } from '../events/audit';

let db: TestDb;
const silent = pino({ level: 'silent' });
const actor = { kind: 'account' as const, keyId: 'key_a', clientIp: '192.0.2.1' };

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

describe('the audit log', () => {
  it('commits a change and its events in one transaction, and neither when the change fails', async () => {
    const written: number[] = [];
    const audit = new AuditLog(db.pool, { written: (n) => written.push(n), dropped: () => undefined }, silent);
    await audit.change(actor, (c) => c.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_tx', 'T', 't.example') RETURNING id"), () => [{ type: 'account.created', accountId: 'acc_tx' }]);
    const { rows } = await db.pool.query("SELECT a.xmin::text AS xmin, e.txid::text AS txid, e.data FROM accounts a JOIN events e ON e.account_id = a.id WHERE a.id = 'acc_tx'");
    expect(rows).toHaveLength(1);
    expect(BigInt(rows[0].txid) % 2n ** 32n).toBe(BigInt(rows[0].xmin)); // the event's transaction wrote the row
    expect(rows[0].data).toEqual({ actor: 'account', actorKeyId: 'key_a', clientIp: '192.0.2.1' });
    expect(written).toEqual([1]);

    await expect(
      audit.change(actor, async (c) => {
        await c.query("INSERT INTO accounts (id, name, sip_domain) VALUES ('acc_tx2', 'T', 't.example')");
        throw new Error('the change fails after its write');
      }, () => [{ type: 'account.created', accountId: 'acc_tx2' }]),
    ).rejects.toThrow('the change fails');
    expect((await db.pool.query("SELECT count(*)::int AS n FROM accounts WHERE id = 'acc_tx2'")).rows[0].n).toBe(0);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM events WHERE account_id = 'acc_tx2'")).rows[0].n).toBe(0);
    // Nothing changed (null): no event.
    await audit.change(actor, async () => null, () => [{ type: 'account.updated', accountId: 'acc_tx' }]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM events WHERE type = 'account.updated'")).rows[0].n).toBe(0);
  });

  it('after an action outside PostgreSQL, counts events it cannot write instead of failing', async () => {
    const dead = createPool('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const dropped: number[] = [];
    const audit = new AuditLog(dead, { written: () => undefined, dropped: (n) => dropped.push(n) }, silent);
    await expect(audit.writeAfter(actor, [{ type: 'sip_block.removed', accountId: null, data: { address: '192.0.2.9' } }])).resolves.toBeUndefined();
    expect(dropped).toEqual([1]);
    await expect(audit.write(actor, [{ type: 'device.credentials_viewed', accountId: 'acc_tx' }])).rejects.toThrow();
    await dead.end();
  });
});
