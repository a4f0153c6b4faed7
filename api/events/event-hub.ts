import type { ServerResponse } from 'node:http';
import type { Queryable } from '../../shared/db';
import type { EventNotifications } from '../../shared/events/event-notifications';
import { formatPosition, Position, positionBefore, tailEvents, tailHorizon, TailedEvent } from '../../shared/events/event-store';
import { coalesced } from '../../shared/coalesced';
import type { Logger } from '../../shared/logger';
import { eventJson, EventViewer } from './event-json';

/** One open event stream. */
interface StreamClient {
  readonly accountId: string;
  readonly keyId: string;
  readonly types: ReadonlySet<string> | null;
  readonly deviceId: string | null;
  readonly viewer: EventViewer;
  readonly res: ServerResponse;
  /** Position of the last event this client has been given (or skipped by its filters), then of the hub's reads. */
  position: Position;
  /** The last position written to the client as an SSE `id` (sent with heartbeats when it moved). */
  sentPosition: Position;
  /** Live events that arrived while its catch-up ran; sent after it. */
  pending: TailedEvent[] | null;
}

export interface EventHubOptions {
  heartbeatMs: number;
  maxClients: number;
  /** Streams of one account at most, in this process. */
  maxPerAccount: number;
  /** How often the table is read while streams are open, whether or not a notification came. */
  pollMs: number;
  /** Rows per read, live and in a catch-up (default 500). */
  pageSize?: number;
  /** Pages one catch-up reads at most (default 200): a client further behind is closed there and resumes from where it got to. */
  catchUpPages?: number;
  /** Live events held for one client during its catch-up (default 10,000); more, and it is closed (it resumes with Last-Event-ID). */
  maxPending?: number;
  /** The subset of `keyIds` that are still valid (streams of the others are closed). */
  activeKeys: (keyIds: string[]) => Promise<Set<string>>;
  onClients?: (n: number) => void;
  log: Logger;
}

export interface StreamRequest {
  accountId: string;
  keyId: string;
  types: readonly string[] | null;
  deviceId: string | null;
  viewer: EventViewer;
  /** Resume after this event (Last-Event-ID); null: from now on. */
  after: Position | null;
}

/** Bytes waiting for a client that does not read; more, and it is closed. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** What the browser waits before reconnecting, ms (SSE `retry:`). */
const RECONNECT_MS = 2_000;
/** Catch-ups running at once (each holds a database connection while it reads); the others wait their turn. */
const MAX_CATCH_UPS = 2;

/**
 * Live events for Server-Sent Event streams, one reader per API process. It
 * follows the events table in tail order (shared/events/event-store.ts), woken
 * by notifications and polled while streams are open, and fans each event out
 * to the streams of its account. A stream resuming with Last-Event-ID first
 * reads what it missed from the table, then joins the live feed; both are in the
 * same order, and the hub's position only moves forward while streams are open,
 * so nothing is skipped or sent twice. A client too far behind for one catch-up
 * is closed after it and resumes from the last id it got.
 */
export class EventHub {
  private readonly clients = new Set<StreamClient>();
  /** Where the hub has read to; null while no stream is open (set again by the next one). */
  private position: Position | null = null;
  private catchUps = 0;
  private readonly catchUpQueue: (() => void)[] = [];
  private readonly readNow: () => void;
  private readonly poll: ReturnType<typeof setInterval>;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly db: Queryable, notifications: EventNotifications, private readonly opts: EventHubOptions) {
    this.readNow = coalesced(() => this.read(), (err) => opts.log.debug({ err: err.message }, 'reading new events failed; retried at the next poll'));
    this.unsubscribe = notifications.subscribe(() => this.wake());
    this.poll = setInterval(() => this.wake(), opts.pollMs);
    this.poll.unref();
    this.heartbeat = setInterval(() => void this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Why another stream of `accountId` may not open now, or null when it may. */
  refusal(accountId: string): string | null {
    if (this.closed) return 'the API is stopping';
    if (this.clients.size >= this.opts.maxClients) return 'this process is at API_SSE_MAX_CLIENTS';
    let n = 0;
    for (const c of this.clients) if (c.accountId === accountId) n++;
    return n >= this.opts.maxPerAccount ? 'this account is at API_SSE_MAX_PER_ACCOUNT' : null;
  }

  /**
   * Starts a stream on `res` (headers sent here). Resolves once it is live; the
   * stream then lasts until the client goes, its key is revoked, or close().
   * A client that left before (while it was authenticated, say) takes no slot.
   */
  async open(res: ServerResponse, req: StreamRequest): Promise<void> {
    const gone = (): boolean => this.closed || res.destroyed || res.closed || res.socket === null || res.socket.destroyed;
    if (gone()) return;
    let left = false;
    res.once('close', () => (left = true));
    if (this.position === null) {
      const horizon = await tailHorizon(this.db);
      // Another stream may have opened meanwhile: the hub's position, once set, is only moved by its reads.
      this.position ??= horizon;
    }
    if (left || gone()) return;
    const position = req.after ?? this.position!;
    const client: StreamClient = {
      accountId: req.accountId,
      keyId: req.keyId,
      types: req.types ? new Set(req.types) : null,
      deviceId: req.deviceId,
      viewer: req.viewer,
      res,
      position,
      sentPosition: position,
      pending: req.after ? [] : null,
    };
    // Set before writeHead, so that getHeader (the metrics middleware) sees them.
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no'); // proxies must not hold events back
    res.setHeader('Connection', 'keep-alive');
    res.writeHead(200);
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.clients.add(client);
    this.opts.onClients?.(this.clients.size);
    res.once('close', () => this.drop(client));
    if (client.pending) await this.catchUp(client);
  }

  /** Reads what a resuming client missed, then sends what arrived live meanwhile. */
  private async catchUp(client: StreamClient): Promise<void> {
    await this.catchUpTurn();
    let complete = false;
    try {
      const { pageSize = 500, catchUpPages = 200 } = this.opts;
      for (let i = 0; i < catchUpPages && this.clients.has(client); i++) {
        const page = await tailEvents(this.db, client.position, { accountIds: [client.accountId], limit: pageSize });
        for (const e of page.events) this.send(client, e);
        client.position = page.next;
        if (page.events.length < pageSize) {
          complete = true;
          break;
        }
      }
    } catch (err) {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'event stream catch-up failed; closing it (the client resumes)');
    } finally {
      this.catchUpDone();
    }
    if (!complete) {
      // Too far behind for one catch-up (or the read failed): the client resumes from the last id it got.
      client.res.end();
      return;
    }
    const pending = client.pending ?? [];
    client.pending = null;
    for (const e of pending) this.send(client, e);
  }

  private catchUpTurn(): Promise<void> {
    if (this.catchUps < MAX_CATCH_UPS) {
      this.catchUps++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.catchUpQueue.push(resolve));
  }

  private catchUpDone(): void {
    const next = this.catchUpQueue.shift();
    if (next) next();
    else this.catchUps--;
  }

  /** Reads new events now (one read at a time, another right after if asked meanwhile). */
  wake(): void {
    if (!this.closed && this.clients.size > 0) this.readNow();
  }

  private async read(): Promise<void> {
    for (let i = 0; i < 100 && this.clients.size > 0 && this.position; i++) {
      const accounts = [...new Set([...this.clients].map((c) => c.accountId))];
      const { pageSize = 500, maxPending = 10_000 } = this.opts;
      const page = await tailEvents(this.db, this.position, { accountIds: accounts, limit: pageSize });
      for (const e of page.events) {
        for (const c of this.clients) {
          if (c.accountId !== e.accountId) continue;
          if (c.pending) {
            if (c.pending.length >= maxPending) c.res.end();
            else c.pending.push(e);
          } else {
            this.send(c, e);
          }
        }
      }
      this.position = page.next;
      // Everything of their accounts up to here has been given to live clients: their position follows.
      for (const c of this.clients) if (!c.pending && positionBefore(c.position, page.next)) c.position = page.next;
      if (page.events.length < pageSize) return;
    }
  }

  /** Sends `e` unless this client has it already or its filters leave it out. */
  private send(c: StreamClient, e: TailedEvent): void {
    if (!positionBefore(c.position, e.position)) return;
    c.position = e.position;
    if (c.types && !c.types.has(e.type)) return;
    if (c.deviceId && c.deviceId !== e.deviceId) return;
    c.sentPosition = e.position;
    write(c, `id: ${formatPosition(e.position)}\ndata: ${JSON.stringify(eventJson(e, c.viewer))}\n\n`);
  }

  /**
   * Heartbeat comments keep proxies from timing streams out. A live client whose
   * position moved without an event for it (filtered out, or none) also gets an
   * `id` line alone: EventSource takes it as its Last-Event-ID, so a quiet stream
   * resumes from there and not from long ago. Streams of revoked keys are closed.
   */
  private async beat(): Promise<void> {
    if (this.clients.size === 0) return;
    for (const c of [...this.clients]) {
      if (c.res.destroyed || c.res.closed) {
        this.drop(c);
        continue;
      }
      let text = ': ping\n\n';
      if (!c.pending && positionBefore(c.sentPosition, c.position)) {
        c.sentPosition = c.position;
        text = `: ping\nid: ${formatPosition(c.position)}\n\n`;
      }
      write(c, text);
    }
    try {
      const keys = [...new Set([...this.clients].map((c) => c.keyId))];
      const active = await this.opts.activeKeys(keys);
      for (const c of this.clients) if (!active.has(c.keyId)) c.res.end();
    } catch {
      // PostgreSQL down: keep the streams; the next heartbeat checks again.
    }
  }

  private drop(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0) this.position = null;
    this.opts.onClients?.(this.clients.size);
  }

  /** Ends every stream and stops reading. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.opts.onClients?.(0);
  }
}

/** Writes to a stream still open; one whose client does not read is closed instead (it resumes with Last-Event-ID). */
function write(c: StreamClient, text: string): void {
  if (c.res.writableEnded || c.res.destroyed) return;
  if (c.res.writableLength > MAX_BUFFERED_BYTES) {
    c.res.end();
    return;
  }
  c.res.write(text);
}
