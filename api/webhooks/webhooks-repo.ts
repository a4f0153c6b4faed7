import type { Pool, PoolClient } from 'pg';
import type { KeysetCursor } from '../cursors';
import { Queryable, setClause, withTransaction } from '../../shared/db';
import type { StoredEvent } from '../../shared/events/catalog';
import { Position, tailEvents } from '../../shared/events/event-store';

/**
 * SQL of the webhooks and webhook_deliveries tables (migrations/005_webhooks.sql):
 * the webhooks themselves, the dispatcher that turns events into deliveries, and
 * the claims and outcomes of delivery attempts. Secrets arrive encrypted.
 */

/** The encryption context of a webhook's secrets: a ciphertext copied to another webhook does not decrypt. */
export const secretContext = (webhookId: string): string => `webhook:${webhookId}`;

export interface WebhookRow {
  id: string;
  account_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  failing_since: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, account_id, url, description, event_types, enabled, failing_since, disabled_reason, created_at, updated_at';

export interface NewWebhook {
  id: string;
  accountId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  secretEnc: string;
}

/** Fields a PATCH may change; undefined = unchanged. */
export interface WebhookPatch {
  url?: string;
  description?: string | null;
  eventTypes?: string[];
  enabled?: boolean;
}

const PATCH_COLUMNS: Record<keyof WebhookPatch, string> = { url: 'url', description: 'description', eventTypes: 'event_types', enabled: 'enabled' };

async function insertWebhook(db: Queryable, w: NewWebhook): Promise<WebhookRow> {
  const { rows } = await db.query<WebhookRow>(
    `INSERT INTO webhooks (id, account_id, url, description, event_types, secret_enc) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [w.id, w.accountId, w.url, w.description, w.eventTypes, w.secretEnc],
  );
  return rows[0]!;
}

/**
 * Inserts a webhook unless its account has `max` already; null then. Locks the
 * account's row first (call it in a transaction), so concurrent creations count
 * each other.
 */
export async function insertWebhookWithinLimit(db: Queryable, w: NewWebhook, max: number): Promise<WebhookRow | null> {
  await db.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [w.accountId]);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks WHERE account_id = $1', [w.accountId]);
  if ((rows[0]?.n ?? 0) >= max) return null;
  return insertWebhook(db, w);
}

export async function listWebhooks(db: Queryable, accountId: string): Promise<WebhookRow[]> {
  const { rows } = await db.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY created_at, id`, [accountId]);
  return rows;
}

export async function getWebhook(db: Queryable, accountId: string, id: string): Promise<WebhookRow | null> {
  const { rows } = await db.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1 AND account_id = $2`, [id, accountId]);
  return rows[0] ?? null;
}

/** Applies `patch`; enabling a webhook also forgets its failure streak. Null when there is no such webhook. */
export async function updateWebhook(db: Queryable, accountId: string, id: string, patch: WebhookPatch): Promise<WebhookRow | null> {
  const values: unknown[] = [id, accountId];
  let sets = setClause(patch, PATCH_COLUMNS, values);
  if (patch.enabled === true) sets += ', failing_since = NULL, disabled_reason = NULL';
  const { rows } = await db.query<WebhookRow>(`UPDATE webhooks SET ${sets} WHERE id = $1 AND account_id = $2 RETURNING ${COLUMNS}`, values);
  return rows[0] ?? null;
}

export async function deleteWebhook(db: Queryable, accountId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM webhooks WHERE id = $1 AND account_id = $2', [id, accountId]);
  return rowCount === 1;
}

/** Makes `secretEnc` the signing secret; the previous one keeps signing until `previousUntil`. */
export async function rotateWebhookSecret(db: Queryable, accountId: string, id: string, secretEnc: string, previousUntil: Date): Promise<WebhookRow | null> {
  const { rows } = await db.query<WebhookRow>(
    `UPDATE webhooks SET prev_secret_enc = secret_enc, prev_secret_expires_at = $3, secret_enc = $4, updated_at = now()
      WHERE id = $1 AND account_id = $2 RETURNING ${COLUMNS}`,
    [id, accountId, previousUntil, secretEnc],
  );
  return rows[0] ?? null;
}

export interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  created_at: Date;
  finished_at: Date | null;
  /** `created_at` as microsecond text, for the cursor. */
  cursor_ts: string;
}

/** One page of a webhook's deliveries, newest first. */
export async function listDeliveries(
  db: Queryable,
  webhookId: string,
  filters: { state?: string },
  before: KeysetCursor | null,
  limit: number,
): Promise<{ rows: DeliveryRow[]; hasMore: boolean }> {
  const values: unknown[] = [webhookId];
  const where = ['webhook_id = $1'];
  if (filters.state !== undefined) {
    values.push(filters.state);
    where.push(`state = $${values.length}`);
  }
  if (before) {
    values.push(before.createdAt, before.id);
    where.push(`(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length})`);
  }
  values.push(limit + 1);
  const { rows } = await db.query<DeliveryRow>(
    `SELECT id, webhook_id, event_id, event_type, state, attempts, next_attempt_at, last_status, last_error, last_attempt_at, created_at, finished_at,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts
       FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** Arbitrary constants: advisory locks of the dispatcher and of delivery claims. */
const DISPATCH_LOCK = 4_215_061;
const CLAIM_LOCK = 4_215_062;

/**
 * Turns the next events (in tail order, below the horizon) of accounts with
 * enabled webhooks into deliveries, one per matching webhook, and moves the
 * dispatch position past them, in one transaction: a crash repeats a batch at
 * worst, and the unique (webhook, event) constraint makes that harmless. One
 * process dispatches at a time (the others skip). `payload` renders an event as
 * the body a receiver gets. Returns how many events were read and deliveries created.
 */
export async function dispatchEvents(pool: Pool, limit: number, payload: (e: StoredEvent) => string): Promise<{ events: number; deliveries: number }> {
  return withTransaction(pool, async (db) => {
    const locked = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [DISPATCH_LOCK]);
    if (!locked.rows[0]?.ok) return { events: 0, deliveries: 0 };
    const pos = (await db.query<Position>('SELECT txid::text AS txid, seq::text AS seq FROM webhook_dispatch_position WHERE id = 1')).rows[0];
    if (!pos) return { events: 0, deliveries: 0 };
    const hooks = (await db.query<{ id: string; account_id: string; event_types: string[]; created_at: Date }>('SELECT id, account_id, event_types, created_at FROM webhooks WHERE enabled')).rows;
    const page = await tailEvents(db, pos, { accountIds: [...new Set(hooks.map((w) => w.account_id))], limit });
    const byAccount = new Map<string, typeof hooks>();
    for (const w of hooks) {
      const list = byAccount.get(w.account_id);
      if (list) list.push(w);
      else byAccount.set(w.account_id, [w]);
    }
    const deliveries: { w: string; e: string; t: string; p: string }[] = [];
    for (const e of page.events) {
      const at = Date.parse(e.at);
      for (const w of byAccount.get(e.accountId ?? '') ?? []) {
        // A webhook gets what happened after it was made, of the types it asked for.
        if (at < w.created_at.getTime() || !(w.event_types.includes(e.type) || w.event_types.includes('*'))) continue;
        deliveries.push({ w: w.id, e: e.id, t: e.type, p: payload(e) });
      }
    }
    let created = 0;
    if (deliveries.length) {
      const { rowCount } = await db.query(
        `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload)
         SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), d.w, d.e, d.t, d.p
           FROM jsonb_to_recordset($1::jsonb) AS d(w text, e text, t text, p text)
         ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING`,
        [JSON.stringify(deliveries)],
      );
      created = rowCount ?? 0;
    }
    await db.query('UPDATE webhook_dispatch_position SET txid = $1::xid8, seq = $2::bigint WHERE id = 1', [page.next.txid, page.next.seq]);
    return { events: page.events.length, deliveries: created };
  });
}

/** A claimed delivery with what an attempt needs. */
export interface ClaimedDelivery {
  id: string;
  webhook_id: string;
  account_id: string;
  event_id: string;
  payload: string;
  /** Attempts so far, this one included. */
  attempts: number;
  created_at: Date;
  /** The claim's lease as PostgreSQL's exact text (a Date would lose its microseconds): recording the outcome needs it to be still this one. */
  lease_until: string;
  url: string;
  secret_enc: string;
  prev_secret_enc: string | null;
  prev_secret_expires_at: Date | null;
}

/**
 * Claims up to `limit` due deliveries for `leaseMs` (another process may take
 * one over once its lease ends: a crash loses no delivery). Deliveries are picked
 * per enabled webhook, each webhook's oldest first, at most `perWebhook` of one
 * webhook leased at once (1 while it is failing), and the first of every webhook
 * before the second of any: however large one receiver's backlog, the others get
 * their turn. Claims of all processes are serialised (an advisory lock), which
 * keeps the per-webhook count exact.
 */
export async function claimDeliveries(pool: Pool, opts: { limit: number; perWebhook: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  return withTransaction(pool, async (db: PoolClient) => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK]);
    const { rows } = await db.query<ClaimedDelivery>(
      `WITH leased AS (
         SELECT webhook_id, count(*)::int AS n FROM webhook_deliveries
          WHERE state = 'pending' AND lease_until IS NOT NULL AND lease_until > now() GROUP BY webhook_id),
       room AS (
         SELECT w.id, (CASE WHEN w.failing_since IS NULL THEN $2::int ELSE 1 END) - coalesce(l.n, 0) AS room
           FROM webhooks w LEFT JOIN leased l ON l.webhook_id = w.id
          WHERE w.enabled),
       ranked AS (
         SELECT due.id, due.rn FROM room r
         CROSS JOIN LATERAL (
           SELECT d.id, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS rn FROM webhook_deliveries d
            WHERE d.webhook_id = r.id AND d.state = 'pending' AND d.next_attempt_at <= now()
              AND (d.lease_until IS NULL OR d.lease_until <= now())
            ORDER BY d.next_attempt_at, d.id LIMIT greatest(r.room, 0)) due),
       picked AS (SELECT id FROM ranked ORDER BY rn, id LIMIT $1)
       UPDATE webhook_deliveries d
          SET lease_until = now() + make_interval(secs => $3::float8 / 1000), attempts = d.attempts + 1, last_attempt_at = now()
         FROM picked p, webhooks w
        WHERE d.id = p.id AND w.id = d.webhook_id
       RETURNING d.id, d.webhook_id, w.account_id, d.event_id, d.payload, d.attempts, d.created_at, d.lease_until::text AS lease_until,
                 w.url, w.secret_enc, w.prev_secret_enc, w.prev_secret_expires_at`,
      [opts.limit, opts.perWebhook, opts.leaseMs],
    );
    return rows;
  });
}

/** What one attempt came to. */
export interface AttemptOutcome {
  status: number | null;
  error: string | null;
  /** delivered; retry at `retryAt`; or failed for good. */
  next: { state: 'delivered' } | { state: 'pending'; retryAt: Date } | { state: 'failed' };
}

/**
 * Records an attempt's outcome and the webhook's health: a success ends its
 * failure streak, a failure starts one (or goes on). Only while the claim is
 * still this attempt's: after its lease ran out another process may have taken
 * the delivery over, whose outcome stands. Returns the webhook's failing_since
 * after this attempt (null when healthy, gone, or the claim was lost).
 */
export async function recordAttempt(pool: Pool, d: ClaimedDelivery, outcome: AttemptOutcome): Promise<Date | null> {
  return withTransaction(pool, async (db) => {
    const next = outcome.next;
    const { rowCount } = await db.query(
      `UPDATE webhook_deliveries SET state = $2, lease_until = NULL, last_status = $3, last_error = $4,
              next_attempt_at = coalesce($5, next_attempt_at), finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
        WHERE id = $1 AND lease_until = $6::timestamptz`,
      [d.id, next.state, outcome.status, outcome.error, next.state === 'pending' ? next.retryAt : null, d.lease_until],
    );
    if (rowCount !== 1) return null;
    const { rows } = await db.query<{ failing_since: Date | null }>(
      next.state === 'delivered'
        ? 'UPDATE webhooks SET failing_since = NULL WHERE id = $1 RETURNING failing_since'
        : 'UPDATE webhooks SET failing_since = coalesce(failing_since, now()) WHERE id = $1 RETURNING failing_since',
      [d.webhook_id],
    );
    return rows[0]?.failing_since ?? null;
  });
}

/** Disables a webhook that has failed since before `cutoff`; true when this call disabled it. */
export async function disableFailingWebhook(db: Queryable, id: string, cutoff: Date, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE webhooks SET enabled = false, disabled_reason = $3, updated_at = now() WHERE id = $1 AND enabled AND failing_since <= $2',
    [id, cutoff, reason],
  );
  return rowCount === 1;
}

/** Deliveries waiting (due or later). */
export async function pendingDeliveries(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries WHERE state = 'pending'");
  return rows[0]?.n ?? 0;
}

/**
 * Removes deliveries older than `retentionDays`, in bounded batches: finished ones, and
 * pending ones of a webhook left disabled that long. Returns how many.
 */
export async function purgeOldDeliveries(db: Queryable, retentionDays: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const { rowCount } = await db.query(
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries
          WHERE (state <> 'pending' AND finished_at < now() - make_interval(days => $1))
             OR (state = 'pending' AND created_at < now() - make_interval(days => $1))
          LIMIT 1000)`,
      [retentionDays],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < 1000) break;
  }
  return total;
}
