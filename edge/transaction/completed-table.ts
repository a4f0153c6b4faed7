/**
 * Completed non-INVITE server transactions over UDP (RFC 3261 §17.2.2). In
 * the Completed state a transaction only answers retransmissions of its
 * request with its final response, until Timer J (64*T1 = 32 s) ends it. At a
 * few thousand requests a second that is tens of thousands of transactions,
 * each of which used to keep a whole ServerTransaction (ids, tag, timer
 * token...) on the heap for 32 s; every one was promoted to the old
 * generation and paid for in mark-compact pauses. Here a completed transaction
 * is its key, its response bytes, its reply channel and its method in
 * parallel arrays (slots of a ring), found through one Map from key to slot.
 * Timer J is a DelayQueue entry per transaction naming this table: entries are
 * added and expire in the same order, so each expiry drops the oldest entry.
 */
import { DelayQueue, Expirable } from './delay-queue';
import type { ReplyChannel } from './reply-channel';

const INITIAL_SLOTS = 1024;

/** What a retransmission of a completed request gets resent. */
export interface CompletedEntry {
  readonly response: Buffer;
  readonly channel: ReplyChannel;
  readonly method: string;
  readonly status: number;
}

export class CompletedTable implements Expirable {
  private readonly slotOf = new Map<string, number>();
  private keys: (string | undefined)[] = new Array<string | undefined>(INITIAL_SLOTS);
  private responses: (Buffer | undefined)[] = new Array<Buffer | undefined>(INITIAL_SLOTS);
  private channels: (ReplyChannel | undefined)[] = new Array<ReplyChannel | undefined>(INITIAL_SLOTS);
  private methods: (string | undefined)[] = new Array<string | undefined>(INITIAL_SLOTS);
  private statuses = new Uint16Array(INITIAL_SLOTS);
  /** Oldest slot and number of slots in use (ring). */
  private head = 0;
  private count = 0;
  private readonly timerJ: DelayQueue;

  constructor(lifetimeMs: number) {
    this.timerJ = new DelayQueue(lifetimeMs);
  }

  get size(): number {
    return this.count;
  }

  /** Keeps `response` for retransmissions of the request with `key`, for the lifetime. */
  add(key: string, response: Buffer, channel: ReplyChannel, method: string, status: number): void {
    // A key is never added twice: a retransmission is answered from here, it makes no new transaction.
    if (this.count === this.keys.length) this.grow();
    const slot = (this.head + this.count) % this.keys.length;
    this.keys[slot] = key;
    this.responses[slot] = response;
    this.channels[slot] = channel;
    this.methods[slot] = method;
    this.statuses[slot] = status;
    this.count++;
    this.slotOf.set(key, slot);
    this.timerJ.push(this);
  }

  /** The completed transaction with this key, if it has not expired. */
  get(key: string): CompletedEntry | undefined {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return undefined;
    return { response: this.responses[slot]!, channel: this.channels[slot]!, method: this.methods[slot]!, status: this.statuses[slot]! };
  }

  /** Timer J of the oldest entry fired (Expirable). */
  expire(): void {
    if (this.count > 0) this.dropHead();
  }

  /** Forgets everything and stops the timer. */
  clear(): void {
    this.timerJ.clear();
    while (this.count > 0) this.dropHead();
    this.head = 0;
  }

  private dropHead(): void {
    const slot = this.head;
    this.slotOf.delete(this.keys[slot]!);
    this.keys[slot] = undefined;
    this.responses[slot] = undefined;
    this.channels[slot] = undefined;
    this.methods[slot] = undefined;
    this.head = (slot + 1) % this.keys.length;
    this.count--;
  }

  /** Doubles the ring, oldest entry first at slot 0. */
  private grow(): void {
    const size = this.keys.length;
    const order = (i: number): number => (this.head + i) % size;
    const copy = <T>(from: T[]): T[] => {
      const to = new Array<T>(size * 2);
      for (let i = 0; i < this.count; i++) to[i] = from[order(i)]!;
      return to;
    };
    const statuses = new Uint16Array(size * 2);
    for (let i = 0; i < this.count; i++) statuses[i] = this.statuses[order(i)]!;
    this.keys = copy(this.keys);
    this.responses = copy(this.responses);
    this.channels = copy(this.channels);
    this.methods = copy(this.methods);
    this.statuses = statuses;
    this.head = 0;
    for (let i = 0; i < this.count; i++) this.slotOf.set(this.keys[i]!, i);
  }
}
