/**
 * Completed non-INVITE server transactions over UDP (RFC 3261 §17.2.2). In
 * the Completed state a transaction only answers retransmissions of its
 * request with its final response, until Timer J (64*T1 = 32 s) ends it. At a
 * few thousand requests a second that is tens of thousands of transactions at
 * any time, and a new one every fraction of a millisecond.
 *
 * Kept as JavaScript objects (a key string, a response Buffer, a channel, a Map
 * entry), every one of them outlived a scavenge, was promoted to the old
 * generation and died there 32 s later: a mark-compact every second or two
 * whose concurrent marking threads took the cores the registrar and Redis were
 * waiting for (the latency tail in docs/benchmarks.md). So the table holds no
 * object per transaction: the key, response, method and remote address are
 * bytes in one ring buffer, the rest are numbers in typed arrays, and the
 * lookup is a hash table of chains through those arrays.
 *
 * Entries are numbered in the order they are added; the live ones are
 * [head, tail). They expire in the same order (one Timer J each, through a
 * DelayQueue), so expiring is `head++` and nothing is ever unlinked: a chain
 * runs from the newest entry of a bucket to older ones, and ends where it
 * reaches an entry older than head.
 */
import { randomBytes } from 'node:crypto';
import { DelayQueue, Expirable } from './delay-queue';
import type { ChannelOrigin, DatagramChannel } from './reply-channel';

const INITIAL_SLOTS = 1024; // a power of two
const INITIAL_BYTES = 512 * 1024;
/** Keys up to this length are encoded for a lookup without allocating. */
const SCRATCH_BYTES = 2048;
const NONE = -1;
/** Every this many expiries (and whenever it empties), the table checks whether it is mostly empty and gives memory back. */
const SHRINK_CHECK_EVERY = 4096;

/** The smallest power of two that is at least `n` and at least `floor`. */
function powerOfTwoAtLeast(n: number, floor: number): number {
  let size = floor;
  while (size < n) size *= 2;
  return size;
}

/** What a retransmission of a completed request gets resent. */
export interface CompletedEntry {
  readonly response: Buffer;
  readonly channel: DatagramChannel;
  readonly method: string;
  readonly status: number;
}

/** Per-process seed of the key hash, so that nobody outside can make keys that share a chain. */
const HASH_SEED = randomBytes(4).readInt32LE(0);

/** FNV-1a (seeded) over `length` bytes of `buf` from `start`. */
function hashBytes(buf: Buffer, start: number, length: number): number {
  let h = 0x811c9dc5 ^ HASH_SEED;
  for (let i = start, end = start + length; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h | 0;
}

type SlotArray = Float64Array | Uint32Array | Uint16Array | Int32Array;

export class CompletedTable implements Expirable {
  /** Number of the oldest live entry, and of the next entry to add. */
  private head = 0;
  private tail = 0;
  private mask = INITIAL_SLOTS - 1;
  /** Per slot (entry number & mask): where its record starts in `data`, and its fields. */
  private recordAt = new Float64Array(INITIAL_SLOTS);
  private keyLength = new Uint32Array(INITIAL_SLOTS);
  private addressLength = new Uint32Array(INITIAL_SLOTS);
  private methodLength = new Uint32Array(INITIAL_SLOTS);
  private responseLength = new Uint32Array(INITIAL_SLOTS);
  private remotePort = new Uint16Array(INITIAL_SLOTS);
  private originOf = new Uint16Array(INITIAL_SLOTS);
  private status = new Uint16Array(INITIAL_SLOTS);
  private hash = new Int32Array(INITIAL_SLOTS);
  /** The next older entry in the same bucket, or NONE. */
  private chain = new Float64Array(INITIAL_SLOTS);
  /** Newest entry of each bucket (twice as many buckets as slots), or NONE. */
  private buckets = new Float64Array(INITIAL_SLOTS * 2).fill(NONE);

  /**
   * Records (key, remote address, method, response bytes) in a ring; positions
   * only grow, a record's place is its position modulo the ring's size, and a
   * record that would straddle the end starts over at the beginning instead.
   */
  private data = Buffer.allocUnsafe(INITIAL_BYTES);
  private writeAt = 0;
  /** Bytes of the live records. */
  private liveBytes = 0;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

  /** The listening sockets whose channels are kept (a handful). */
  private readonly origins: ChannelOrigin[] = [];
  private readonly timerJ: DelayQueue;

  constructor(lifetimeMs: number) {
    this.timerJ = new DelayQueue(lifetimeMs);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** Bytes reserved for records (the ring), live or not. */
  get reservedBytes(): number {
    return this.data.length;
  }

  /** Entries the slot arrays have room for. */
  get reservedSlots(): number {
    return this.mask + 1;
  }

  /** Keeps `response` for retransmissions of the request with `key` (latin1 text), for the lifetime. */
  add(key: string, response: Buffer, channel: DatagramChannel, method: string, status: number): void {
    // A key is never added twice: a retransmission is answered from here, it makes no new transaction.
    if (this.size > this.mask) this.resizeSlots((this.mask + 1) * 2);
    const keyBytes = key.length; // latin1: one byte per character
    const recordBytes = keyBytes + channel.wireAddress.length + method.length + response.length;
    const at = this.reserve(recordBytes);
    this.liveBytes += recordBytes;
    const n = this.tail++;
    const slot = n & this.mask;
    const start = at % this.data.length;
    let offset = start + this.data.write(key, start, 'latin1');
    offset += this.data.write(channel.wireAddress, offset, 'latin1');
    offset += this.data.write(method, offset, 'latin1');
    response.copy(this.data, offset);

    this.recordAt[slot] = at;
    this.keyLength[slot] = keyBytes;
    this.addressLength[slot] = channel.wireAddress.length;
    this.methodLength[slot] = method.length;
    this.responseLength[slot] = response.length;
    this.remotePort[slot] = channel.remotePort;
    this.originOf[slot] = this.originIndex(channel.origin);
    this.status[slot] = status;
    this.hash[slot] = hashBytes(this.data, start, keyBytes);
    this.link(n);
    this.timerJ.push(this);
  }

  /** The completed transaction with this key, if it has not expired. */
  get(key: string): CompletedEntry | undefined {
    const length = key.length;
    const probe = length <= SCRATCH_BYTES ? this.scratch : Buffer.allocUnsafe(length);
    probe.write(key, 0, length, 'latin1');
    const h = hashBytes(probe, 0, length);
    for (let n = this.buckets[h & (this.buckets.length - 1)]!; n >= this.head; n = this.chain[n & this.mask]!) {
      const slot = n & this.mask;
      if (this.hash[slot] !== h || this.keyLength[slot] !== length) continue;
      const start = this.recordAt[slot]! % this.data.length;
      if (probe.compare(this.data, start, start + length, 0, length) === 0) return this.entry(slot, start + length);
    }
    return undefined;
  }

  /** Timer J of the oldest entry fired (Expirable). */
  expire(): void {
    if (this.tail === this.head) return;
    this.liveBytes -= this.recordBytes(this.head & this.mask);
    this.head++;
    if (this.head % SHRINK_CHECK_EVERY === 0 || this.tail === this.head) this.shrinkIfSparse();
  }

  /** Forgets everything and stops the timer. */
  clear(): void {
    this.timerJ.clear();
    this.head = this.tail;
    this.liveBytes = 0;
  }

  /**
   * After a burst the ring and the slots are sized for its peak; once an eighth or
   * less of them is in use, they shrink to four times what is in use (never below
   * their initial sizes), so that a quiet edge gives the memory back.
   */
  private shrinkIfSparse(): void {
    if (this.data.length > INITIAL_BYTES && this.liveBytes * 8 <= this.data.length) {
      this.resizeData(powerOfTwoAtLeast(4 * this.liveBytes, INITIAL_BYTES));
    }
    const slots = this.mask + 1;
    if (slots > INITIAL_SLOTS && this.size * 8 <= slots) this.resizeSlots(powerOfTwoAtLeast(4 * this.size, INITIAL_SLOTS));
  }

  private entry(slot: number, addressAt: number): CompletedEntry {
    const methodAt = addressAt + this.addressLength[slot]!;
    const responseAt = methodAt + this.methodLength[slot]!;
    const wireAddress = this.data.toString('latin1', addressAt, methodAt);
    return {
      // A copy: the ring may reuse these bytes while the datagram waits to be sent.
      response: Buffer.from(this.data.subarray(responseAt, responseAt + this.responseLength[slot]!)),
      channel: this.origins[this.originOf[slot]!]!.reopen(wireAddress, this.remotePort[slot]!),
      method: this.data.toString('latin1', methodAt, responseAt),
      status: this.status[slot]!,
    };
  }

  private originIndex(origin: ChannelOrigin): number {
    const i = this.origins.indexOf(origin);
    return i === -1 ? this.origins.push(origin) - 1 : i;
  }

  /** Position for a record of `bytes` bytes, growing the ring when the live records leave no room. */
  private reserve(bytes: number): number {
    let at = this.writeAt;
    const size = this.data.length;
    if ((at % size) + bytes > size) at += size - (at % size); // would straddle the end: start over
    const oldest = this.size > 0 ? this.recordAt[this.head & this.mask]! : at;
    if (at + bytes - oldest > size) {
      this.resizeData(powerOfTwoAtLeast(2 * (this.liveBytes + bytes), 2 * size));
      return this.reserve(bytes);
    }
    this.writeAt = at + bytes;
    return at;
  }

  /** A ring of `size` bytes (at least the live bytes) with the live records packed at its start, oldest first. */
  private resizeData(size: number): void {
    const data = Buffer.allocUnsafe(size);
    let at = 0;
    for (let n = this.head; n < this.tail; n++) {
      const slot = n & this.mask;
      const start = this.recordAt[slot]! % this.data.length;
      const bytes = this.recordBytes(slot);
      this.data.copy(data, at, start, start + bytes);
      this.recordAt[slot] = at;
      at += bytes;
    }
    this.data = data;
    this.writeAt = at;
  }

  private recordBytes(slot: number): number {
    return this.keyLength[slot]! + this.addressLength[slot]! + this.methodLength[slot]! + this.responseLength[slot]!;
  }

  /** Makes entry `n` the newest of its bucket's chain. */
  private link(n: number): void {
    const slot = n & this.mask;
    const bucket = this.hash[slot]! & (this.buckets.length - 1);
    this.chain[slot] = this.buckets[bucket]!;
    this.buckets[bucket] = n;
  }

  /** `slots` slots (a power of two, at least the live entries) and twice as many buckets; entry numbers stay, so slots and chains are laid out again. */
  private resizeSlots(slots: number): void {
    const oldMask = this.mask;
    const move = <A extends SlotArray>(from: A, to: A): A => {
      for (let n = this.head; n < this.tail; n++) to[n & (slots - 1)] = from[n & oldMask]!;
      return to;
    };
    this.recordAt = move(this.recordAt, new Float64Array(slots));
    this.keyLength = move(this.keyLength, new Uint32Array(slots));
    this.addressLength = move(this.addressLength, new Uint32Array(slots));
    this.methodLength = move(this.methodLength, new Uint32Array(slots));
    this.responseLength = move(this.responseLength, new Uint32Array(slots));
    this.remotePort = move(this.remotePort, new Uint16Array(slots));
    this.originOf = move(this.originOf, new Uint16Array(slots));
    this.status = move(this.status, new Uint16Array(slots));
    this.hash = move(this.hash, new Int32Array(slots));
    this.mask = slots - 1;
    this.chain = new Float64Array(slots);
    this.buckets = new Float64Array(slots * 2).fill(NONE);
    for (let n = this.head; n < this.tail; n++) this.link(n);
  }
}
