import { randomBase62 } from '../credentials';
import type { Queryable } from '../db';
import { NewEvent, storableData, StoredEvent } from './catalog';

/**
 * The one module that owns the events table (migrations/004_events.sql): writes,
 * listings, the tail order live readers follow, and partition upkeep. Registrars
 * write through an EventWriter (buffered, never on the REGISTER path), the API
 * writes its audit events directly and reads through here.
 */

/** The channel every insert notifies (payload: the schema, so stacks sharing a database tell theirs apart). */
export const EVENTS_CHANNEL = 'sipreg_events';

/**
 * A place in the tail order: the writing transaction's id and the row's sequence
 * number, both as decimal text (xid8 and bigint exceed 2^53). Readers take rows after
 * a position and below the horizon (the oldest transaction still running), so a row
 * that a slow transaction commits late cannot fall behind a reader's position.
 */
export interface Position {
  txid: string;
  seq: string;
}

const POSITION_TEXT = /^(\d{1,20})-(\d{1,20})$/;

/** `txid-seq`: the form of an SSE event id (Last-Event-ID). */
export function formatPosition(p: Position): string {
  return `${p.txid}-${p.seq}`;
}

/** Largest xid8 and bigint values: a larger number is no position PostgreSQL could have given. */
const MAX_XID8 = 2n ** 64n - 1n;
const MAX_BIGINT = 2n ** 63n - 1n;

export function parsePosition(s: string): Position | null {
  const m = POSITION_TEXT.exec(s);
  if (!m || BigInt(m[1]!) > MAX_XID8 || BigInt(m[2]!) > MAX_BIGINT) return null;
  return { txid: m[1]!, seq: m[2]! };
}

/** a < b in the tail order. */
export function positionBefore(a: Position, b: Position): boolean {
  const at = BigInt(a.txid);
  const bt = BigInt(b.txid);
  return at < bt || (at === bt && BigInt(a.seq) < BigInt(b.seq));
}

/** A stored event with its place in the tail order. */
export interface TailedEvent extends StoredEvent {
  position: Position;
}

/** Which events a listing covers: an account's (optionally one device's), or those of no account (operators). */
export type EventScope = { accountId: string; deviceId?: string } | { unattributed: true };

export interface EventFilters {
  types?: readonly string[];
  deviceId?: string;
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
}

const ISO_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
// (Queries that select seq or txid as text order by `events.seq`: the bare name would be the text alias.)
const EVENT_COLUMNS = `id, to_char(at AT TIME ZONE 'UTC', ${ISO_MS}) AS at, account_id, device_id, type, data`;

interface EventRow {
  id: string;
  at: string;
  account_id: string | null;
  device_id: string | null;
  type: string;
  data: Record<string, unknown>;
}

const toEvent = (r: EventRow): StoredEvent => ({ id: r.id, type: r.type, at: r.at, accountId: r.account_id, deviceId: r.device_id, data: r.data });

/** A new public event id, `evt_<random>`. */
export function newEventId(): string {
  return `evt_${randomBase62(16)}`;
}

// One statement: the batch as a JSON array (sequence numbers given in its order), the
// account of events that name only a device taken from its row, and a notification sent
// when the statement commits.
const INSERT = `
WITH ins AS (
  INSERT INTO events (id, at, account_id, device_id, type, data)
  SELECT e.id, to_timestamp(e.at / 1000.0), coalesce(e.a, d.account_id), e.d, e.t, coalesce(e.x, '{}'::jsonb)
    FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (id text, at bigint, a text, d text, t text, x jsonb)) WITH ORDINALITY AS e(id, at, a, d, t, x, n)
    LEFT JOIN devices d ON e.a IS NULL AND d.id = e.d
   ORDER BY e.n
  RETURNING 1)
SELECT count(*)::int AS n, pg_notify('${EVENTS_CHANNEL}', current_schema()) FROM ins`;

/**
 * Writes events in one statement (inside the caller's transaction when `db` is a
 * client in one). Text is made storable first (no NUL, no lone surrogate, bounded
 * length), so what a device sent cannot make the write fail. Returns how many were written.
 */
export async function insertEvents(db: Queryable, events: readonly NewEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map((e) => ({ id: newEventId(), at: Math.round(e.at), a: e.accountId, d: e.deviceId, t: e.type, x: storableData(e.data) }));
  const { rows: out } = await db.query<{ n: number }>({ name: 'events-insert', text: INSERT, values: [JSON.stringify(rows)] });
  return out[0]?.n ?? 0;
}

/**
 * One page of events, newest first. `before` is the `seq` cursor of the previous
 * page's last event. Returns the page and the cursor of its last event when more follow.
 */
export async function listEvents(
  db: Queryable,
  scope: EventScope,
  filters: EventFilters,
  before: string | null,
  limit: number,
): Promise<{ events: StoredEvent[]; next: string | null }> {
  const values: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (p: string) => string, v: unknown): void => {
    values.push(v);
    where.push(sql(`$${values.length}`));
  };
  if ('unattributed' in scope) where.push('account_id IS NULL');
  else add((p) => `account_id = ${p}`, scope.accountId);
  const deviceId = 'unattributed' in scope ? filters.deviceId : (scope.deviceId ?? filters.deviceId);
  if (deviceId !== undefined) add((p) => `device_id = ${p}`, deviceId);
  if (filters.types?.length) add((p) => `type = ANY(${p}::text[])`, filters.types);
  if (filters.since !== undefined) add((p) => `at >= to_timestamp(${p}::bigint / 1000.0)`, filters.since);
  if (before !== null) add((p) => `seq < ${p}::bigint`, before);
  values.push(limit + 1);
  const { rows } = await db.query<EventRow & { seq: string }>(
    `SELECT seq::text AS seq, ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY events.seq DESC LIMIT $${values.length}`,
    values,
  );
  const page = rows.slice(0, limit);
  return { events: page.map(toEvent), next: rows.length > limit ? page[page.length - 1]!.seq : null };
}

/** The horizon: every transaction below it has ended, so no row below it can still appear. */
export async function tailHorizon(db: Queryable): Promise<Position> {
  const { rows } = await db.query<{ h: string }>({ name: 'events-horizon', text: 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h' });
  return { txid: rows[0]!.h, seq: '0' };
}

/**
 * Events after `after` in tail order, up to `limit`, only from transactions below the
 * current horizon, optionally of some accounts only. `next` is where to read on from:
 * the last event's position when the page is full, else the horizon (everything below
 * it has been seen, so a later read need not look there again).
 */
export async function tailEvents(
  db: Queryable,
  after: Position,
  opts: { accountIds?: readonly string[]; limit: number },
): Promise<{ events: TailedEvent[]; next: Position }> {
  const horizon = await tailHorizon(db);
  const values: unknown[] = [after.txid, after.seq, horizon.txid, opts.limit];
  let accounts = '';
  if (opts.accountIds) {
    values.push(opts.accountIds);
    accounts = 'AND account_id = ANY($5::text[])';
  }
  const { rows } = await db.query<EventRow & { txid: string; seq: string }>(
    `SELECT txid::text AS txid, seq::text AS seq, ${EVENT_COLUMNS} FROM events
      WHERE (txid, seq) > ($1::xid8, $2::bigint) AND txid < $3::xid8 ${accounts}
      ORDER BY events.txid, events.seq LIMIT $4`,
    values,
  );
  const events = rows.map((r) => ({ ...toEvent(r), position: { txid: r.txid, seq: r.seq } }));
  const last = events[events.length - 1];
  const full = events.length === opts.limit;
  return { events, next: full && last ? last.position : positionBefore(after, horizon) ? horizon : after };
}

/**
 * Seconds since the oldest running transaction that holds a transaction id began,
 * anywhere on the server (0 when none): the horizon of live readers cannot pass it.
 * Sessions of other roles count only where this role may see them (pg_read_all_stats).
 */
export async function oldestTransactionAge(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ s: number }>({
    name: 'events-oldest-xact',
    text: 'SELECT coalesce(extract(epoch FROM max(now() - xact_start)), 0)::float8 AS s FROM pg_stat_activity WHERE backend_xid IS NOT NULL',
  });
  return rows[0]?.s ?? 0;
}

/** Day partitions from today to `daysAhead` ahead (created when missing); returns how many were created. */
export async function ensureEventPartitions(db: Queryable, daysAhead: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT events_ensure_partitions($1) AS n', [daysAhead]);
  return rows[0]?.n ?? 0;
}

/** Drops what is older than `retentionDays`; returns how many day partitions were dropped. */
export async function dropExpiredEvents(db: Queryable, retentionDays: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT events_drop_expired($1) AS n', [retentionDays]);
  return rows[0]?.n ?? 0;
}
