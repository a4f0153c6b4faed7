import type { Request, Response } from 'express';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../../shared/db';
import type { EventData, EventType, NewEvent } from '../../shared/events/catalog';
import { insertEvents } from '../../shared/events/event-store';
import type { Logger } from '../../shared/logger';
import { principalOf } from '../context';

/** Who made a change: the kind of key, the API key and the client address (what every audit event carries). */
export interface Actor {
  kind: 'operator' | 'account';
  keyId: string;
  clientIp: string;
}

export function actorOf(req: Request, res: Response): Actor {
  const p = principalOf(res);
  return { kind: p.kind, keyId: p.keyId, clientIp: req.ip ?? req.socket.remoteAddress ?? 'unknown' };
}

/** One event of a change: an audit type, or a SIP-side type the API causes (`removed`). */
export interface AuditEntry {
  type: EventType;
  accountId: string | null;
  deviceId?: string;
  data?: EventData;
}

export interface AuditCounters {
  written(n: number): void;
  dropped(n: number): void;
}

/**
 * The audit log: events of what API keys do, written to the events table
 * (shared/events/event-store.ts) with the acting key and client address. A
 * change to PostgreSQL and its audit events commit together or not at all.
 */
export class AuditLog {
  constructor(
    private readonly pool: Pool,
    private readonly counters: AuditCounters,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private events(actor: Actor, entries: readonly AuditEntry[]): NewEvent[] {
    const at = this.now();
    return entries.map((e) => ({
      type: e.type,
      at,
      accountId: e.accountId,
      deviceId: e.deviceId ?? null,
      // An operator's key and address are shown to operators only (api/events/event-json.ts).
      data: { ...e.data, actor: actor.kind, actorKeyId: actor.keyId, clientIp: actor.clientIp },
    }));
  }

  /**
   * Runs `fn` in a transaction; when it returns something, the entries made from
   * that result are written in the same transaction. Returns fn's result (null: nothing changed).
   */
  async change<T>(actor: Actor, fn: (db: PoolClient) => Promise<T | null>, entries: (result: T) => AuditEntry[]): Promise<T | null> {
    let n = 0;
    const result = await withTransaction(this.pool, async (db) => {
      const r = await fn(db);
      if (r !== null) n = await insertEvents(db, this.events(actor, entries(r)));
      return r;
    });
    if (n > 0) this.counters.written(n);
    return result;
  }

  /** Writes entries now; throws when they cannot be written (for actions that must not happen unaudited). */
  async write(actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
    this.counters.written(await insertEvents(this.pool, this.events(actor, entries)));
  }

  /**
   * Writes entries of an action already done outside PostgreSQL (Redis): a failure
   * is logged and counted, not returned, since the action stands.
   */
  async writeAfter(actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
    try {
      await this.write(actor, entries);
    } catch (err) {
      this.counters.dropped(entries.length);
      this.log.error({ types: entries.map((e) => e.type), err: { message: (err as Error).message } }, 'audit events could not be written');
    }
  }
}
