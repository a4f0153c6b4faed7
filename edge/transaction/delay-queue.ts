/**
 * Expiry for one fixed delay (the unanswered-transaction timeout, Timer H,
 * Timer I, and Timer J through CompletedTable): deadlines pushed in time order form a FIFO, so one timer serves
 * every transaction instead of one Timeout object each. Entries live in a ring
 * of slots (an item array and a deadline array) and are named by a ticket
 * number, so a scheduled expiry costs no object of its own: every transaction
 * pushes one for 64 s, hundreds of thousands at a few thousand requests/s.
 */

/** Something a queue can expire. */
export interface Expirable {
  expire(): void;
}

const INITIAL_SLOTS = 1024;
/**
 * The timer waits at least this long between runs, so entries due close together
 * expire in one run (at a few thousand pushes a second, one timer per entry would
 * be thousands a second). An entry may thus expire this much late; RFC 3261's
 * timers set no upper bound.
 */
const EXPIRY_TICK_MS = 250;

/** A FIFO of deadlines `delayMs` after their push time. */
export class DelayQueue {
  private items: (Expirable | undefined)[] = new Array<Expirable | undefined>(INITIAL_SLOTS);
  private deadlines = new Float64Array(INITIAL_SLOTS);
  /** Slot of the oldest entry, number of entries, and the ticket of the oldest entry. */
  private head = 0;
  private count = 0;
  private headTicket = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly delayMs: number) {}

  /** Schedules `item.expire()` in delayMs; the ticket cancels it. */
  push(item: Expirable): number {
    if (this.count === this.items.length) this.grow();
    const slot = (this.head + this.count) % this.items.length;
    this.items[slot] = item;
    this.deadlines[slot] = Date.now() + this.delayMs;
    const ticket = this.headTicket + this.count;
    this.count++;
    if (!this.timer) this.arm();
    return ticket;
  }

  /** Releases the item at once; its slot is reused once its time has come. */
  cancel(ticket: number): void {
    const i = ticket - this.headTicket;
    if (i >= 0 && i < this.count) this.items[(this.head + i) % this.items.length] = undefined;
  }

  /** Scheduled entries, cancelled ones included. */
  get length(): number {
    return this.count;
  }

  /** Slots allocated (grows with the entries, given back as they expire). */
  get capacity(): number {
    return this.items.length;
  }

  /** Doubles the ring. */
  private grow(): void {
    this.resize(this.items.length * 2);
  }

  /**
   * Gives a burst's slots back (a few thousand pushes a second for 64 s are
   * hundreds of thousands of slots): a ring less than a quarter full is halved
   * until it is not, or is back to its initial size, in one copy.
   */
  private shrinkIfSparse(): void {
    let size = this.items.length;
    while (size > INITIAL_SLOTS && this.count < size / 4) size /= 2;
    if (size !== this.items.length) this.resize(size);
  }

  /** Copies the entries into a ring of `size` slots, oldest first at slot 0 (tickets stay valid). */
  private resize(size: number): void {
    const old = this.items.length;
    const items = new Array<Expirable | undefined>(size);
    const deadlines = new Float64Array(size);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % old;
      items[i] = this.items[from];
      deadlines[i] = this.deadlines[from]!;
    }
    this.items = items;
    this.deadlines = deadlines;
    this.head = 0;
  }

  private arm(): void {
    if (this.count === 0) return;
    this.timer = setTimeout(this.fire, Math.max(EXPIRY_TICK_MS, this.deadlines[this.head]! - Date.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    // Bounded by the queue length; each step consumes one entry.
    while (this.count > 0 && this.deadlines[this.head]! <= now) {
      const item = this.items[this.head];
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.items.length;
      this.count--;
      this.headTicket++;
      item?.expire();
    }
    this.shrinkIfSparse();
    if (!this.timer) this.arm(); // an expire() may have pushed and armed already
  };

  /** Drops everything and clears the timer. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.items.fill(undefined);
    this.headTicket += this.count;
    this.head = 0;
    this.count = 0;
  }
}
