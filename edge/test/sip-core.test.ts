import pino from 'pino';
import { AppRouter } from '../control/app-router';
import type { AppSession } from '../control/app-session';
import { createEdgeMetrics } from '../metrics/edge-metrics';
import { DEFAULT_LIMITS } from '../options';
import { SipCore } from '../sip-core';
import type { ChannelOrigin, DatagramChannel, ReplyChannel, StreamChannel } from '../transaction/reply-channel';
import { sipRequest } from './support';

/** A reply channel recording what is sent to it, as latin1 text (UDP: re-made channels record into the same list). */
function channel(transport: 'udp' | 'tcp', remoteAddress = '127.0.0.1'): ReplyChannel & { sent: string[] } {
  const sent: string[] = [];
  const common = { remoteAddress, remotePort: 5999, localAddress: '127.0.0.1', localPort: 5060, sent, send: (d: Buffer) => (sent.push(d.toString('latin1')), true) };
  if (transport === 'tcp') return { ...common, transport, reliable: true } satisfies StreamChannel & { sent: string[] };
  const origin: ChannelOrigin = { reopen: (wireAddress, remotePort) => ({ ...common, transport, reliable: false, origin, wireAddress, remotePort }) };
  return origin.reopen(remoteAddress, 5999) as DatagramChannel & { sent: string[] };
}

/** A SIP core with one fake app routed for `methods`; `frames` holds what the app was sent. */
function core(methods: string[], limits: Partial<typeof DEFAULT_LIMITS> = {}) {
  const router = new AppRouter<AppSession>();
  const frames: string[] = [];
  const app = { id: 'app-1', pending: new Set(), send: (f: string) => frames.push(f), release: () => undefined } as unknown as AppSession;
  for (const m of methods) router.add(app, m);
  const c = new SipCore({ ...DEFAULT_LIMITS, ...limits }, router, createEdgeMetrics(() => undefined), pino({ level: 'silent' }));
  return { core: c, app, frames };
}

/** Status lines of what a channel was sent. */
const statuses = (ch: { sent: string[] }): string[] => ch.sent.map((m) => m.slice(0, m.indexOf('\r\n')));

describe('the SIP core', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers an INVITE the app never answers 408 after the unanswered timeout (the client waits for ever after the 100)', () => {
    const { core: c, frames } = core(['invite']);
    const ch = channel('udp');
    c.datagram(Buffer.from(sipRequest({ method: 'INVITE' }), 'latin1'), ch);
    expect(frames).toHaveLength(1);
    expect(statuses(ch)).toEqual(['SIP/2.0 100 Trying']);
    jest.advanceTimersByTime(63_000);
    expect(statuses(ch)).toEqual(['SIP/2.0 100 Trying']);
    jest.advanceTimersByTime(1_250);
    expect(statuses(ch)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 408 Request Timeout']);
    expect(ch.sent[1]).toMatch(/\r\nTo: <sip:alice@example.com>;tag=\w+\r\nCall-ID: /);
    jest.advanceTimersByTime(500); // RFC 3261 §17.2.1 Timer G: resent until the ACK like any final response
    expect(statuses(ch)[2]).toBe('SIP/2.0 408 Request Timeout');
    c.stop();
  });

  it('CANCEL after the final response, before the ACK: 200, the INVITE keeps its response (RFC 3261 §9.2)', () => {
    const { core: c, app, frames } = core(['invite']);
    const ch = channel('udp');
    const invite = sipRequest({ method: 'INVITE' });
    c.datagram(Buffer.from(invite, 'latin1'), ch);
    const transactionId = frames[0]!.split('|')[8]!;
    c.appSip(app, 'm1', transactionId, 'SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n');
    expect(statuses(ch)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 486 Busy Here']);
    const cancel = invite.replace('INVITE sip:example.com', 'CANCEL sip:example.com').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL');
    c.datagram(Buffer.from(cancel, 'latin1'), ch);
    expect(statuses(ch)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 486 Busy Here', 'SIP/2.0 200 OK']);
    expect(ch.sent[2]).toMatch(/\r\nCSeq: 1 CANCEL\r\n/);
    expect(frames.filter((f) => f.includes('|network|'))).toHaveLength(1); // the app is not told: it has answered
    // Without a matching INVITE transaction: 481.
    c.datagram(Buffer.from(sipRequest({ method: 'CANCEL' }), 'latin1'), ch);
    expect(statuses(ch)[3]).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
    c.stop();
  });

  it('caps the unanswered transactions of one source address: UDP beyond it is dropped, a stream gets 503', () => {
    const { core: c, app, frames } = core(['register'], { maxUnansweredPerSource: 3 });
    const a = channel('udp', '192.0.2.1');
    const aTcp = channel('tcp', '192.0.2.1');
    const b = channel('udp', '192.0.2.2');
    const requests = (): string[] => frames.filter((f) => f.split('|')[2] === 'network');
    const register = (ch: ReplyChannel): void => c.datagram(Buffer.from(sipRequest({ transport: ch.transport.toUpperCase() }), 'latin1'), ch);
    for (let i = 0; i < 5; i++) register(a);
    expect(requests()).toHaveLength(3); // the app leaves them unanswered
    expect(a.sent).toEqual([]);
    register(aTcp);
    expect(statuses(aTcp)).toEqual(['SIP/2.0 503 Service Unavailable']);
    expect(aTcp.sent[0]).toMatch(/\r\nRetry-After: \d+\r\n/);
    register(b); // another source is not affected
    expect(requests()).toHaveLength(4);
    // An answer frees a place.
    c.appSip(app, 'm1', frames[0]!.split('|')[8]!, 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
    register(a);
    expect(requests()).toHaveLength(5);
    register(a);
    expect(requests()).toHaveLength(5);
    // So does the unanswered timeout: 64*T1, when the client's Timer F has given up (RFC 3261 §17.1.2.2).
    jest.advanceTimersByTime(32_250);
    expect(c.transactions.unansweredFrom('192.0.2.1')).toBe(0);
    register(a);
    expect(requests()).toHaveLength(6);
    expect(a.sent.map((m) => m.slice(0, m.indexOf('\r\n')))).toEqual(['SIP/2.0 200 OK']);
    // A stream request's answer frees exactly its own place (counted down once, not again when it ends).
    expect(c.transactions.unansweredFrom('192.0.2.1')).toBe(1);
    register(aTcp);
    expect(c.transactions.unansweredFrom('192.0.2.1')).toBe(2);
    c.appSip(app, 'm2', requests()[requests().length - 1]!.split('|')[8]!, 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(statuses(aTcp)).toEqual(['SIP/2.0 503 Service Unavailable', 'SIP/2.0 200 OK']);
    expect(c.transactions.unansweredFrom('192.0.2.1')).toBe(1);
    // A CANCEL is answered even from a source at its cap: it holds nothing.
    register(a);
    register(a);
    expect(c.transactions.unansweredFrom('192.0.2.1')).toBe(3);
    c.datagram(Buffer.from(sipRequest({ method: 'CANCEL' }), 'latin1'), a);
    expect(statuses(a)[statuses(a).length - 1]).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
    c.stop();
  });
});
