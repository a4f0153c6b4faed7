import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Queryable } from '../../shared/db';
import { EventNotifications } from '../../shared/events/event-notifications';
import { insertEvents } from '../../shared/events/event-store';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { EventHub } from '../events/event-hub';
import { SseClient } from './helpers/sse';

// The hub alone over a real database and real HTTP responses, with a database whose horizon answer can be held back.
let db: TestDb;
let server: Server;
let hub: EventHub;
let holdNextHorizon: Promise<void> | null = null;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  db = await createTestDb();
  const slow: Queryable = {
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
  hub = new EventHub(slow, new EventNotifications(db.databaseUrl, db.schema, silent), {
    heartbeatMs: 200, maxClients: 10, maxPerAccount: 10, pollMs: 60_000, activeKeys: async (ids) => new Set(ids), log: silent, // reads only when the test wakes it
  });
  server = createServer((req, res) => {
    const types = req.url === '/quiet' ? ['registered'] : null; // a stream whose filter leaves everything out
    void hub.open(res, { accountId: 'acc_h', keyId: 'key_x', types, deviceId: null, viewer: 'account', after: null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
  expect(txid > etxid || (txid === etxid && seq >= eseq)).toBe(true);
  quiet.close();
  loud.close();
});
