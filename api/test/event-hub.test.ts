import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Queryable } from '../../shared/db';
import { EventNotifications } from '../../shared/events/event-notifications';
import { insertEvents, parsePosition, tailHorizon } from '../../shared/events/event-store';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { EventHub, EventHubOptions } from '../events/event-hub';
import { SseClient } from './helpers/sse';

// The hub alone over a real database and real HTTP responses, with a database whose horizon answer can be held back.
let db: TestDb;
let slow: Queryable;
let server: Server;
let hub: EventHub;
let holdNextHorizon: Promise<void> | null = null;
const silent = pino({ level: 'silent' });
const others: { hub: EventHub; server: Server }[] = [];

/**
 * A hub (reading only when woken) and an HTTP server opening a stream of `acc_h` per request:
 * `/quiet` filters everything out, `?after=<id>` resumes.
 */
async function startHub(extra: Partial<EventHubOptions> = {}): Promise<{ hub: EventHub; server: Server; url: string }> {
  const h = new EventHub(slow, new EventNotifications(db.databaseUrl, db.schema, silent), {
    heartbeatMs: 200, maxClients: 10, maxPerAccount: 10, pollMs: 60_000, activeKeys: async (ids) => new Set(ids), log: silent, ...extra,
  });
  const srv = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const types = url.pathname === '/quiet' ? ['registered'] : null;
    const after = url.searchParams.get('after');
    void h.open(res, { accountId: 'acc_h', keyId: 'key_x', types, deviceId: null, viewer: 'account', after: after ? parsePosition(after) : null });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { hub: h, server: srv, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  db = await createTestDb();
  slow = {
    query: (async (config: unknown, values?: unknown) => {
      const name = typeof config === 'object' && config !== null ? (config as { name?: string }).name : undefined;
      if (name === 'events-horizon' && holdNextHorizon) {
        const hold = holdNextHorizon;
        holdNextHorizon = null;
        await hold; // asks late: its horizon is newer than what the hub has read
      }
      return db.pool.query(config as string, values as unknown[]);
    }) as Queryable['query'],
  };
  ({ hub, server } = await startHub());
});
afterAll(async () => {
  for (const x of [{ hub, server }, ...others]) {
    x.hub.close();
    x.server.closeAllConnections();
    await new Promise<void>((resolve) => x.server.close(() => resolve()));
  }
  await db.close();
});

const event = (n: number) => ({ type: 'account.updated' as const, at: Date.now(), accountId: 'acc_h', deviceId: null, data: { removed: n } });

it('loses no event for an open stream when another one opens at the same time', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // A and B open together on an idle hub; B's horizon is asked for only after event 1 was written.
  let release!: () => void;
  holdNextHorizon = new Promise<void>((resolve) => (release = resolve));
  const bOpening = SseClient.open(url);
  await new Promise((r) => setTimeout(r, 50));
  const a = await SseClient.open(url);
  await insertEvents(db.pool, [event(1)]);
  release();
  const b = await bOpening;
  await new Promise((r) => setTimeout(r, 50));
  await insertEvents(db.pool, [event(2)]);
  hub.wake();
  await a.next((e) => e.data.removed === 2, 5000, 'event 2 on A');
  expect(a.messages.map((m) => m.data.data.removed)).toEqual([1, 2]);
  await b.next((e) => e.data.removed === 2, 5000, 'event 2 on B');
  a.close();
  b.close();
});

it('takes no slot for a client that left before its stream opened', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  await new Promise((r) => setTimeout(r, 100));
  expect(hub.size).toBe(0); // the first test's streams are gone
  let release!: () => void;
  holdNextHorizon = new Promise<void>((resolve) => (release = resolve));
  const opening = SseClient.open(url).catch(() => null);
  await new Promise((r) => setTimeout(r, 50));
  // Abort the pending request: its client is gone before the hub has the horizon.
  (await Promise.race([opening, new Promise<null>((r) => setTimeout(() => r(null), 20))]))?.close();
  server.closeAllConnections();
  release();
  await new Promise((r) => setTimeout(r, 100));
  expect(hub.size).toBe(0);
});

it('gives a quiet stream its position as an id with the heartbeats, so it resumes from there', async () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const quiet = await SseClient.open(`${base}/quiet`);
  const loud = await SseClient.open(`${base}/`);
  await insertEvents(db.pool, [event(3)]);
  hub.wake();
  const seen = await loud.next((e) => e.data.removed === 3, 5000, 'event 3');
  await quiet.until(() => quiet.lastId !== undefined, 5000, 'an id with a heartbeat');
  expect(quiet.messages).toEqual([]);
  const [txid, seq] = quiet.lastId!.split('-').map(BigInt) as [bigint, bigint];
  const [etxid, eseq] = seen.id!.split('-').map(BigInt) as [bigint, bigint];
  // Read to the horizon: past the event, at the start of a transaction not yet read.
  expect(txid > etxid && seq === 0n).toBe(true);
  void eseq;
  quiet.close();
  loud.close();
});

describe('a hub\'s limits', () => {
  let small: Awaited<ReturnType<typeof startHub>>;
  beforeAll(async () => {
    small = await startHub({ pageSize: 1, catchUpPages: 2, maxPending: 1, maxPerAccount: 1 });
    others.push(small);
  });

  it('ends a stream too far behind for one catch-up once it has what that catch-up read', async () => {
    const from = await tailHorizon(db.pool);
    await insertEvents(db.pool, [event(10), event(11), event(12)]);
    const s = await SseClient.open(`${small.url}/?after=${from.txid}-${from.seq}`);
    await s.until(() => s.ended, 5000, 'the stream to end');
    expect(s.messages.map((m) => m.data.data.removed)).toEqual([10, 11]);
    // Resuming from the last id it got goes on where it stopped.
    const again = await SseClient.open(`${small.url}/?after=${s.messages[1]!.id}`);
    await again.next((e) => e.data.removed === 12, 5000, 'event 12');
    again.close();
  });

  it('refuses a second stream of one account in the process, not one of another account', async () => {
    const s = await SseClient.open(`${small.url}/`);
    await new Promise((r) => setTimeout(r, 50));
    expect(small.hub.refusal('acc_h')).toMatch(/API_SSE_MAX_PER_ACCOUNT/);
    expect(small.hub.refusal('acc_other')).toBeNull();
    s.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(small.hub.refusal('acc_h')).toBeNull();
  });

  it('ends a resuming stream that falls too far behind live events during its catch-up', async () => {
    const keep = await startHub({ pageSize: 1, catchUpPages: 100, maxPending: 1 });
    others.push(keep);
    const watcher = await SseClient.open(`${keep.url}/`); // the hub has a position: the catch-up's horizon query is the next one
    await new Promise((r) => setTimeout(r, 50));
    const from = await tailHorizon(db.pool);
    let release!: () => void;
    holdNextHorizon = new Promise<void>((resolve) => (release = resolve));
    const resuming = SseClient.open(`${keep.url}/?after=${from.txid}-${from.seq}`);
    await new Promise((r) => setTimeout(r, 50)); // its catch-up now waits for its horizon
    await insertEvents(db.pool, [event(20)]);
    await insertEvents(db.pool, [event(21)]);
    keep.hub.wake();
    await watcher.next((e) => e.data.removed === 21, 5000, 'the live events');
    const s = await resuming;
    release();
    await s.until(() => s.ended, 5000, 'the resuming stream to end');
    watcher.close();
  });
});
