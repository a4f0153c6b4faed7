import { Client } from 'pg';
import type { Logger } from '../logger';
import { EVENTS_CHANNEL } from './event-store';

/** Longest wait between reconnection attempts, ms. */
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * Wakes readers of the events table when events are committed: one LISTEN
 * connection per process (PostgreSQL NOTIFY from every insert). A notification
 * is only a hint to read now; readers also poll, so a lost connection delays
 * nothing by more than their poll interval. Each (re)connection wakes them once
 * too, for what was written while it was down.
 */
export class EventNotifications {
  private client: Client | null = null;
  private stopped = false;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();

  /** `schema`: the schema this process writes in (notifications of other schemas are ignored). */
  constructor(private readonly databaseUrl: string, private readonly schema: string, private readonly log: Logger) {}

  /** Calls `fn` on every notification of this schema (and on each reconnection). Returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (this.stopped || this.client) return;
    const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5_000 });
    this.client = client;
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.stopped) return;
      const delay = Math.min(MAX_RECONNECT_DELAY_MS, 250 * 2 ** Math.min(this.attempt++, 5));
      this.retry = setTimeout(() => {
        this.retry = null;
        this.start();
      }, delay);
      this.retry.unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === EVENTS_CHANNEL && msg.payload === this.schema) this.wake();
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${EVENTS_CHANNEL}`))
      .then(() => {
        if (this.attempt > 0) this.log.info('listening for events again');
        this.attempt = 0;
        this.wake();
      })
      .catch((err: Error) => {
        if (this.attempt === 0) this.log.warn({ err: { message: err.message } }, 'cannot listen for events yet; readers poll meanwhile');
        lost();
      });
  }

  private wake(): void {
    for (const fn of this.listeners) fn();
  }

  /** Closes the connection; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.listeners.clear();
    if (client) await client.end().catch(() => undefined);
  }
}
