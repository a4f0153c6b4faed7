/**
 * Expiry for one fixed delay (Timer J, Timer H, ...): deadlines pushed in time
 * order form a FIFO, so one timer serves every transaction instead of one
 * Timeout object each (tens of thousands live at a few thousand requests/s).
 */

/** Something a queue can expire. */
export interface Expirable {
  expire(): void;
}

/** A scheduled expiry; `cancel` releases the item at once (the slot stays until its time comes). */
export class QueueToken {
  constructor(
    public item: Expirable | undefined,
    readonly at: number,
  ) {}

  cancel(): void {
    this.item = undefined;
  }
}

/** A FIFO of deadlines `delayMs` after their push time. */
export class DelayQueue {
  private tokens: QueueToken[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly delayMs: number) {}

  /** Schedules `item.expire()` in delayMs. */
  push(item: Expirable): QueueToken {
    const token = new QueueToken(item, Date.now() + this.delayMs);
    this.tokens.push(token);
    if (!this.timer) this.arm();
    return token;
  }

  /** Scheduled entries, cancelled ones included. */
  get length(): number {
    return this.tokens.length - this.head;
  }

  private arm(): void {
    const next = this.tokens[this.head];
    if (!next) return;
    this.timer = setTimeout(this.fire, Math.max(0, next.at - Date.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    // Bounded by the queue length; each step consumes one entry.
    while (this.head < this.tokens.length && this.tokens[this.head]!.at <= now) {
      const token = this.tokens[this.head]!;
      this.tokens[this.head] = undefined as unknown as QueueToken; // release for GC
      this.head++;
      const item = token.item;
      token.item = undefined;
      item?.expire();
    }
    if (this.head >= this.tokens.length) {
      this.tokens = [];
      this.head = 0;
    } else {
      if (this.head > 4096 && this.head * 2 > this.tokens.length) {
        this.tokens = this.tokens.slice(this.head);
        this.head = 0;
      }
      this.arm();
    }
  };

  /** Drops everything and clears the timer. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (let i = this.head; i < this.tokens.length; i++) this.tokens[i]!.item = undefined;
    this.tokens = [];
    this.head = 0;
  }
}
