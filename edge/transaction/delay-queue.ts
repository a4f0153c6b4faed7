/**
 * Expiry for one fixed delay (Timer J, Timer H, ...): deadlines pushed in time
 * order form a FIFO, so one timer serves every transaction instead of one
 * Timeout object each (tens of thousands live at a few thousand requests/s).
 */

/** Something with a deadline that a queue may fire. */
export interface Expirable {
  /** The deadline the item currently waits for; the queue fires it only if it still matches. */
  deadline: number;
  expire(): void;
}

/** A FIFO of deadlines `delayMs` after their push time. */
export class DelayQueue {
  private items: Expirable[] = [];
  private deadlines: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly delayMs: number) {}

  /** Schedules `item.expire()` in delayMs; sets and returns its deadline. Cancel by changing `item.deadline`. */
  push(item: Expirable): number {
    const at = Date.now() + this.delayMs;
    item.deadline = at;
    this.items.push(item);
    this.deadlines.push(at);
    if (!this.timer) this.arm();
    return at;
  }

  private arm(): void {
    const at = this.deadlines[this.head];
    if (at === undefined) return;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    // Bounded by the queue length; each step consumes one entry.
    while (this.head < this.deadlines.length && this.deadlines[this.head]! <= now) {
      const item = this.items[this.head]!;
      const at = this.deadlines[this.head]!;
      this.items[this.head] = undefined as unknown as Expirable; // release for GC
      this.head++;
      if (item.deadline === at) item.expire();
    }
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.deadlines = [];
      this.head = 0;
    } else this.arm();
  };

  /** Drops everything and clears the timer. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.deadlines = [];
    this.head = 0;
  }
}
