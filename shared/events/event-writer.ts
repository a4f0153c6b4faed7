import type { Logger } from '../logger';
import type { Queryable } from '../db';
import type { NewEvent } from './catalog';
import { insertEvents } from './event-store';

export interface EventWriterOptions {
  /** Longest an event waits in memory before it is written, ms. */
  flushIntervalMs: number;
  /** Most events written by one statement; a full batch is written at once. */
  batchSize: number;
  /** Most events held while PostgreSQL is slow or down; beyond, new events are dropped (and counted). */
  maxQueued: number;
  log: Logger;
  /** Counted written events. */
  onWritten?: (n: number) => void;
  /** Counted lost events, by reason: `queue_full` (PostgreSQL down too long), `unstorable` (refused by PostgreSQL), `shutdown`. */
  onDropped?: (reason: 'queue_full' | 'unstorable' | 'shutdown', n: number) => void;
  now?: () => number;
}

/** Longest wait between write attempts while PostgreSQL fails, ms. */
const MAX_RETRY_DELAY_MS = 10_000;

/** SQLSTATE classes of a statement PostgreSQL refuses for its data (22 data exception, 23 integrity): retrying it cannot help. */
const isDataError = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
};

/**
 * Events written in the background, in batches. `record()` only queues: a
 * REGISTER never waits for PostgreSQL, and with PostgreSQL down it still
 * succeeds while events wait (up to `maxQueued`, then are dropped and counted).
 * Order is kept: a failed batch is retried before anything newer. A batch that
 * PostgreSQL refuses for its content is written event by event, so one bad
 * event loses only itself.
 */
export class EventWriter {
  private queue: NewEvent[] = [];
  private flushing: Promise<void> | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private failures = 0;
  private retryAt = 0;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly db: Queryable, private readonly opts: EventWriterOptions) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Queues one event (dropped and counted when the queue is full or the writer stopped). */
  record(event: NewEvent): void {
    if (this.stopped) {
      this.opts.onDropped?.('shutdown', 1);
      return;
    }
    if (this.queue.length >= this.opts.maxQueued) {
      this.opts.onDropped?.('queue_full', 1);
      return;
    }
    this.queue.push(event);
    if (this.queue.length >= this.opts.batchSize && !this.immediate && this.failures === 0) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        void this.flush();
      });
    }
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  /** Writes what is queued (one run at a time; while PostgreSQL fails, at most once per back-off step). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length === 0 || this.now() < this.retryAt) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.opts.batchSize);
      try {
        const n = await insertEvents(this.db, batch);
        this.queue.splice(0, batch.length);
        this.opts.onWritten?.(n);
      } catch (err) {
        if (!isDataError(err)) {
          this.failed(err as Error);
          return;
        }
        try {
          await this.writeOneByOne(batch.length);
        } catch (err2) {
          this.failed(err2 as Error);
          return;
        }
      }
      if (this.failures > 0) this.opts.log.info({ queued: this.queue.length }, 'events are being written again');
      this.failures = 0;
      this.retryAt = 0;
    }
  }

  /** Writes the first `count` queued events one at a time, taking each off the queue once written or refused. */
  private async writeOneByOne(count: number): Promise<void> {
    for (let i = 0; i < count && this.queue.length > 0; i++) {
      const e = this.queue[0]!;
      try {
        this.opts.onWritten?.(await insertEvents(this.db, [e]));
      } catch (err) {
        if (!isDataError(err)) throw err;
        this.opts.onDropped?.('unstorable', 1);
        this.opts.log.warn({ type: e.type, deviceId: e.deviceId, err: { message: (err as Error).message } }, 'event refused by PostgreSQL; dropped');
      }
      this.queue.shift();
    }
  }

  private failed(err: Error): void {
    this.failures++;
    const delay = Math.min(MAX_RETRY_DELAY_MS, this.opts.flushIntervalMs * 2 ** Math.min(this.failures, 10));
    this.retryAt = this.now() + delay;
    if (this.failures === 1) {
      this.opts.log.warn({ err: { message: err.message }, queued: this.queue.length }, 'events cannot be written to PostgreSQL; kept in memory and retried');
    }
  }

  /**
   * Writes what is queued, giving up after `timeoutMs` (what is left is counted as
   * dropped), and stops. Safe to call twice.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.retryAt = 0;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      (async () => {
        while (this.queue.length > 0) {
          await this.flush();
          if (this.failures > 0) break;
        }
      })(),
      new Promise<void>((resolve) => (timeout = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timeout);
    if (this.queue.length > 0) {
      this.opts.onDropped?.('shutdown', this.queue.length);
      this.opts.log.warn({ dropped: this.queue.length }, 'events not written before shutdown');
      this.queue = [];
    }
  }
}
