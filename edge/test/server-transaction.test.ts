import { createTimers, ServerTransaction, TransactionHooks } from '../transaction/server-transaction';
import { DelayQueue } from '../transaction/delay-queue';
import { TransactionLayer } from '../transaction/transaction-layer';
import { CompletedTable } from '../transaction/completed-table';
import type { ChannelOrigin, DatagramChannel, ReplyChannel, StreamChannel } from '../transaction/reply-channel';
import { readDatagram } from '../sip/datagram';
import { checkRequest, InboundRequest } from '../sip/request';
import { DEFAULT_LIMITS } from '../options';
import { sipRequest } from './support';

function request(method = 'REGISTER'): InboundRequest {
  const r = readDatagram(Buffer.from(sipRequest({ method }), 'latin1'), DEFAULT_LIMITS);
  if (r.kind !== 'message' || r.head.kind !== 'request') throw new Error('bad fixture');
  const c = checkRequest(r.head, r.body, r.bodyError, { remoteAddress: '127.0.0.1', remotePort: 5999 });
  if (!c.ok) throw new Error(c.reason);
  return c.request;
}

/** A fake reply channel recording what is sent to it (UDP: its origin makes channels recording into the same list). */
function channel(reliable: true): StreamChannel & { sent: Buffer[] };
function channel(reliable: false): DatagramChannel & { sent: Buffer[] };
function channel(reliable: boolean): ReplyChannel & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  const common = { remoteAddress: '127.0.0.1', remotePort: 5999, localAddress: '127.0.0.1', localPort: 5060, sent, send: (d: Buffer) => (sent.push(d), true) };
  if (reliable) return { ...common, transport: 'tcp', reliable };
  const origin: ChannelOrigin = { reopen: (wireAddress, remotePort) => ({ ...common, transport: 'udp', reliable, origin, wireAddress, remotePort }) };
  return origin.reopen('127.0.0.1', 5999) as DatagramChannel & { sent: Buffer[] };
}

describe('server transaction timers (RFC 3261 §17.2)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  const events: string[] = [];
  const hooks: TransactionHooks = {
    sent: (_t, s, re) => events.push(`${s}${re ? ' again' : ''}`),
    completed: (_t, _c, response, s) => events.push(`completed ${s} ${response.toString('latin1')}`),
    terminated: (_t, a) => events.push(a ? 'done' : 'expired'),
  };
  beforeEach(() => (events.length = 0));

  it('non-INVITE over UDP: Completed hands the final response to the owner for Timer J', () => {
    const ch = channel(false);
    const t = new ServerTransaction('k', request(), ch, hooks, createTimers());
    expect(t.retransmission()).toBe(true);
    t.respond(200, 'SIP/2.0 200 OK\r\n\r\n');
    expect(t.state).toBe('completed');
    expect(events).toEqual(['200', 'completed 200 SIP/2.0 200 OK\r\n\r\n']);
    expect(t.respond(200, 'x')).toBeUndefined();
    jest.advanceTimersByTime(64_000);
    expect(events).toHaveLength(2); // no timer of its own is left
  });

  it('non-INVITE over UDP through the layer: the response is resent until Timer J = 64*T1, then forgotten', () => {
    const sent: string[] = [];
    const layer = new TransactionLayer({
      sent: (_t, s, re) => sent.push(`${s}${re ? ' again' : ''}`),
      resent: (_c, method, s) => sent.push(`${method} ${s} again`),
      terminated: () => undefined,
    });
    const ch = channel(false);
    const t = layer.create('k1', request(), ch);
    expect(layer.get(t.id)).toBe(t);
    t.respond(401, 'SIP/2.0 401 Unauthorized\r\n\r\n');
    expect(layer.find('k1')).toBeUndefined();
    expect(layer.get(t.id)).toBeUndefined(); // the app can no longer answer it
    expect(layer.size).toBe(1);
    expect(layer.resendCompleted('k1')).toBe(true);
    expect(layer.resendCompleted('k2')).toBe(false);
    expect(ch.sent.map((b) => b.toString('latin1'))).toEqual(['SIP/2.0 401 Unauthorized\r\n\r\n', 'SIP/2.0 401 Unauthorized\r\n\r\n']);
    jest.advanceTimersByTime(31_999);
    expect(layer.resendCompleted('k1')).toBe(true);
    jest.advanceTimersByTime(250);
    expect(layer.resendCompleted('k1')).toBe(false);
    expect(layer.size).toBe(0);
    expect(sent).toEqual(['401', 'REGISTER 401 again', 'REGISTER 401 again']);
  });

  it('non-INVITE over TCP: Timer J is zero', () => {
    const t = new ServerTransaction('k', request(), channel(true), hooks, createTimers());
    t.respond(401, 'SIP/2.0 401 Unauthorized\r\n\r\n');
    expect(t.state).toBe('terminated');
  });

  it('a non-INVITE the app never answers is forgotten after 64*T1 = 32 s, when the client has given up (Timer F)', () => {
    const t = new ServerTransaction('k', request(), channel(false), hooks, createTimers());
    jest.advanceTimersByTime(31_999);
    expect(t.state).toBe('trying');
    jest.advanceTimersByTime(1);
    expect(t.state).toBe('terminated');
    expect(events).toEqual(['expired']);
  });

  it('an INVITE the app never answers is handed to inviteTimedOut after 64 s; unanswered there, it is forgotten', () => {
    const asked: string[] = [];
    const t = new ServerTransaction('k', request('INVITE'), channel(false), { ...hooks, inviteTimedOut: (x) => asked.push(x.state) }, createTimers());
    jest.advanceTimersByTime(63_999);
    expect(asked).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(asked).toEqual(['proceeding']);
    expect(t.state).toBe('terminated');
    expect(events).toEqual(['expired']);
  });

  it('INVITE non-2xx over UDP: Timer G doubles to T2 until the ACK, then Timer I', () => {
    const ch = channel(false);
    const t = new ServerTransaction('k', request('INVITE'), ch, hooks, createTimers());
    t.respond(486, 'SIP/2.0 486 Busy Here\r\n\r\n');
    jest.advanceTimersByTime(500 + 1000 + 2000 + 4000);
    expect(ch.sent).toHaveLength(5);
    t.ack();
    expect(t.state).toBe('confirmed');
    jest.advanceTimersByTime(4000);
    expect(ch.sent).toHaveLength(5);
    jest.advanceTimersByTime(1000);
    expect(t.state).toBe('terminated');
  });

  it('refuses an illegal state change', () => {
    const t = new ServerTransaction('k', request(), channel(true), hooks, createTimers());
    t.terminate();
    expect(() => (t as unknown as { transition(s: string): void }).transition('proceeding')).toThrow(/illegal/);
  });
});

describe('fixed-delay queue', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('expires items in order after the delay, skips cancelled ones, and clears', () => {
    const q = new DelayQueue(1000);
    const fired: string[] = [];
    const item = (name: string) => ({ expire: () => fired.push(name) });
    q.push(item('a'));
    jest.advanceTimersByTime(300);
    const b = q.push(item('b'));
    q.push(item('c'));
    q.cancel(b);
    jest.advanceTimersByTime(699);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    jest.advanceTimersByTime(300);
    expect(fired).toEqual(['a', 'c']);
    expect(q.length).toBe(0);
    q.push(item('d'));
    q.clear();
    jest.advanceTimersByTime(2000);
    expect(fired).toEqual(['a', 'c']);
  });

  it('wraps, grows while wrapped, and cancels by ticket across the growth', () => {
    const q = new DelayQueue(1000);
    const fired: string[] = [];
    const push = (name: string): number => q.push({ expire: () => fired.push(name) });
    for (let i = 0; i < 800; i++) push(`a${i}`);
    jest.advanceTimersByTime(1000);
    expect(fired).toHaveLength(800);
    fired.length = 0;
    const c = Array.from({ length: 600 }, (_, i) => push(`c${i}`)); // slots 800..1023, then 0..375
    jest.advanceTimersByTime(500);
    const d = Array.from({ length: 600 }, (_, i) => push(`d${i}`)); // 1,200 entries: grows while wrapped
    expect(q.length).toBe(1200);
    q.cancel(c[200]!);
    q.cancel(d[599]!);
    q.cancel(c[200]!); // twice: no harm
    jest.advanceTimersByTime(500);
    expect(fired).toEqual(Array.from({ length: 600 }, (_, i) => `c${i}`).filter((n) => n !== 'c200'));
    jest.advanceTimersByTime(500);
    expect(fired.slice(599)).toEqual(Array.from({ length: 599 }, (_, i) => `d${i}`));
    expect(q.length).toBe(0);
    q.cancel(c[0]!); // long gone: ignored
  });

  it('gives the slots of a burst back as its entries expire, keeping later tickets valid', () => {
    const q = new DelayQueue(1000);
    const fired: string[] = [];
    const push = (name: string): number => q.push({ expire: () => fired.push(name) });
    for (let i = 0; i < 5000; i++) push(`burst${i}`);
    jest.advanceTimersByTime(500);
    const late = Array.from({ length: 1000 }, (_, i) => push(`late${i}`));
    expect(q.capacity).toBe(8192);
    jest.advanceTimersByTime(500); // the burst expires: 1,000 entries left in 8,192 slots
    expect(fired).toHaveLength(5000);
    expect(q.length).toBe(1000);
    expect(q.capacity).toBe(2048); // the smallest ring at least a quarter full
    q.cancel(late[10]!); // tickets name the same entries after the copy
    jest.advanceTimersByTime(500);
    expect(fired.slice(5000)).toEqual(Array.from({ length: 1000 }, (_, i) => `late${i}`).filter((n) => n !== 'late10'));
    expect(q.length).toBe(0);
    expect(q.capacity).toBe(1024); // empty: back to the initial size, never below
    push('again');
    jest.advanceTimersByTime(1000);
    expect(fired[fired.length - 1]).toBe('again');
  });
});

describe('completed-transaction table', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('wraps around its ring, grows while wrapped, keeps every entry findable, and expires them oldest first', () => {
    const table = new CompletedTable(1000);
    const ch = channel(false);
    const add = (prefix: string, n: number, status = 200): void => {
      for (let i = 0; i < n; i++) table.add(`${prefix}${i}`, Buffer.from(`${prefix}-response-${i}`), ch, 'REGISTER', status);
    };
    add('a', 700); // slots 0..699 of the first 1,024
    jest.advanceTimersByTime(500);
    add('b', 300, 401); // slots 700..999
    jest.advanceTimersByTime(500); // the a's expire
    expect(table.size).toBe(300);
    expect(table.get('a699')).toBeUndefined();
    add('c', 700); // slots 1000..1023, then 0..675: wrapped
    expect(table.size).toBe(1000);
    add('d', 100); // 1,100 entries: the ring grows while wrapped
    expect(table.size).toBe(1100);
    for (const [key, text] of [['b0', 'b-response-0'], ['b299', 'b-response-299'], ['c23', 'c-response-23'], ['c24', 'c-response-24'], ['c699', 'c-response-699'], ['d99', 'd-response-99']]) {
      expect(table.get(key!)?.response.toString()).toBe(text);
    }
    expect(table.get('b5')).toMatchObject({ method: 'REGISTER', status: 401 });
    jest.advanceTimersByTime(500); // the b's expire, oldest first; the rest stay
    expect(table.size).toBe(800);
    expect(table.get('b299')).toBeUndefined();
    expect(table.get('c0')?.response.toString()).toBe('c-response-0');
    jest.advanceTimersByTime(500);
    expect(table.size).toBe(0);
    add('e', 3);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get('e0')).toBeUndefined();
  });

  it('keeps the bytes exactly while its byte ring wraps and grows, and gives back a channel to the same source', () => {
    const table = new CompletedTable(1000);
    const sources = [channel(false).origin.reopen('::ffff:10.0.0.7', 40000), channel(false).origin.reopen('fe80::1%eth0', 5062)];
    // Responses of every byte value and of sizes up to 60 KB, keys up to 5,000 characters (longer than the lookup scratch).
    const response = (i: number): Buffer => {
      const b = Buffer.allocUnsafe(((i * 7919) % 60_000) + 1);
      for (let j = 0; j < b.length; j++) b[j] = (i + j) % 256;
      return b;
    };
    const key = (i: number): string => `3261\0z9hG4bK${'x'.repeat(i % 5000)}${i}\0host:5060\0REGISTER\u00ff`;
    for (let i = 0; i < 300; i++) {
      table.add(key(i), response(i), sources[i % 2]!, i % 3 ? 'REGISTER' : 'OPTIONS', 200 + i);
      if (i === 150) jest.advanceTimersByTime(500);
    }
    jest.advanceTimersByTime(500); // the first 151 expire; the ring has wrapped and grown on the way
    expect(table.size).toBe(149);
    for (let i = 140; i < 300; i++) {
      const got = table.get(key(i));
      if (i <= 150) {
        expect(got).toBeUndefined();
        continue;
      }
      expect(got?.response.equals(response(i))).toBe(true);
      expect(got).toMatchObject({ method: i % 3 ? 'REGISTER' : 'OPTIONS', status: 200 + i });
      expect(got?.channel).toMatchObject({ wireAddress: sources[i % 2]!.wireAddress, remotePort: sources[i % 2]!.remotePort, reliable: false });
      expect(got?.channel.origin).toBe(sources[i % 2]!.origin); // re-made through the socket it came from
    }
    expect(table.get(key(299).slice(0, -1))).toBeUndefined(); // a prefix of a key is another key
  });

  it('starts a record that would straddle the end of its byte ring over at the beginning', () => {
    const table = new CompletedTable(1000);
    const ch = channel(false);
    const big = (fill: number): Buffer => Buffer.alloc(100 * 1024, fill);
    for (let i = 0; i < 4; i++) table.add(`a${i}`, big(i), ch, 'REGISTER', 200); // 0–400 KiB of the first 512 KiB
    jest.advanceTimersByTime(500);
    table.add('b', big(9), ch, 'REGISTER', 200); // 400–500 KiB
    jest.advanceTimersByTime(500); // the a's expire: only b's bytes are live
    table.add('c', big(7), ch, 'REGISTER', 200); // does not fit before the end: at 0, no growth needed
    expect(table.reservedBytes).toBe(512 * 1024);
    expect(table.get('b')?.response.equals(big(9))).toBe(true);
    expect(table.get('c')?.response.equals(big(7))).toBe(true);
  });

  it('hands out a copy of a response: reusing its bytes in the ring later does not change it', () => {
    const table = new CompletedTable(1000);
    const ch = channel(false);
    const filler = (i: number): Buffer => Buffer.alloc(1000, i % 256);
    table.add('k', Buffer.from('the kept response'), ch, 'REGISTER', 200); // at the start of the 512 KiB ring
    for (let i = 0; i < 400; i++) table.add(`f${i}`, filler(i), ch, 'REGISTER', 200);
    const held = table.get('k')!.response;
    jest.advanceTimersByTime(1250); // all expire
    for (let i = 0; i < 200; i++) table.add(`g${i}`, filler(255 - i), ch, 'REGISTER', 200); // wraps to the start, over k's bytes
    expect(table.reservedBytes).toBe(512 * 1024); // reused, not grown
    expect(held.toString()).toBe('the kept response');
  });

  it('gives memory back once a burst has expired, and keeps what is live', () => {
    const table = new CompletedTable(1000);
    const ch = channel(false);
    const response = (i: number): Buffer => Buffer.alloc(1000, i % 256);
    for (let i = 0; i < 10_000; i++) table.add(`burst${i}`, response(i), ch, 'REGISTER', 200); // ~10 MB
    const peak = table.reservedBytes;
    const peakSlots = table.reservedSlots;
    expect(peak).toBeGreaterThanOrEqual(10_000_000);
    expect(peakSlots).toBeGreaterThanOrEqual(10_000);
    jest.advanceTimersByTime(500);
    for (let i = 0; i < 50; i++) table.add(`after${i}`, response(i), ch, 'REGISTER', 200);
    jest.advanceTimersByTime(500); // the burst expires; a check every 4,096 expiries finds the ring mostly empty
    expect(table.size).toBe(50);
    expect(table.reservedBytes).toBeLessThan(peak);
    expect(table.reservedSlots).toBeLessThan(peakSlots);
    for (const i of [0, 49]) expect(table.get(`after${i}`)?.response.equals(response(i))).toBe(true);
    expect(table.get('burst9999')).toBeUndefined();
    jest.advanceTimersByTime(500); // empty: back to the initial size
    expect(table.size).toBe(0);
    expect(table.reservedBytes).toBeLessThanOrEqual(peak / 16);
    expect(table.reservedSlots).toBeLessThanOrEqual(peakSlots / 8);
    for (let i = 0; i < 3000; i++) table.add(`more${i}`, response(i), ch, 'REGISTER', 200); // and it grows again
    for (const i of [0, 1234, 2999]) expect(table.get(`more${i}`)?.response.equals(response(i))).toBe(true);
  });

  it('finds entries after more than 2^32 of them, and 2^32 bytes, were added (positions are not 32-bit)', () => {
    const table = new CompletedTable(1000);
    const counters = table as unknown as { head: number; tail: number; writeAt: number };
    counters.head = counters.tail = 2 ** 32 - 1500;
    counters.writeAt = 2 ** 32 - 10_000; // byte positions pass 2^32 too (after 4 GiB of responses)
    const ch = channel(false);
    const add = (from: number, to: number) => {
      for (let i = from; i < to; i++) table.add(`k${i}`, Buffer.from(`r${i}`), ch, 'REGISTER', 200);
    };
    add(0, 1500);
    jest.advanceTimersByTime(500);
    add(1500, 3000);
    expect(table.size).toBe(3000);
    for (const i of [0, 1499, 1500, 2999]) expect(table.get(`k${i}`)?.response.toString()).toBe(`r${i}`);
    jest.advanceTimersByTime(500); // the first half expires: the oldest live record now lies past 2^32 bytes
    add(3000, 3100);
    expect(table.size).toBe(1600);
    expect(table.reservedBytes).toBe(512 * 1024); // positions past 2^32 did not make the ring look full
    for (const i of [1500, 3099]) expect(table.get(`k${i}`)?.response.toString()).toBe(`r${i}`);
    jest.advanceTimersByTime(1250);
    expect(table.size).toBe(0);
    expect(table.get('k3099')).toBeUndefined();
  });
});
