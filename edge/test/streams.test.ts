import { metric, recordRegisters, scrape, sharedEdgeWithApp, sipRequest, sleep, SrfRequest, StreamClient, until } from './support';

/** The edge's idle timeout in these tests: a close well before it answers the input, not idleness. */
const IDLE_MS = 1500;

describe('SIP over TCP streams', () => {
  const seen: SrfRequest[] = [];
  let hold = false;
  const held: Array<() => void> = [];
  const shared = sharedEdgeWithApp(
    recordRegisters(seen, (res) => {
      if (hold) held.push(() => res.send(200));
      else res.send(200);
    }),
    { limits: { maxConnectionsPerSource: 40, idleTimeoutMs: IDLE_MS, maxMessageBytes: 4096 } },
  );

  let tcp: StreamClient;
  beforeEach(async () => {
    tcp = await StreamClient.tcp(shared.edge);
  });
  afterEach(() => tcp.close());

  it('answers several messages sent in one segment', async () => {
    const three = [1, 2, 3].map((n) => sipRequest({ transport: 'TCP', port: tcp.localPort, cseq: n })).join('');
    tcp.send(three);
    await tcp.waitFor(/^SIP\/2\.0 200/, 3);
    for (const n of [1, 2, 3]) expect(tcp.count(new RegExp(`CSeq: ${n} REGISTER`))).toBe(1);
  });

  it('reassembles one message split across segments, body included', async () => {
    const msg = sipRequest({ transport: 'TCP', port: tcp.localPort, body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n', extra: ['Content-Type: application/sdp'] });
    for (let i = 0; i < msg.length; i += 7) {
      tcp.send(msg.slice(i, i + 7));
      await sleep(1);
    }
    await tcp.waitFor(/^SIP\/2\.0 200/);
    expect(seen[seen.length - 1]!.msg.raw).toContain('o=- 1 1 IN IP4 127.0.0.1');
  });

  it('reads compact header names and folded headers', async () => {
    const msg = [
      'REGISTER sip:example.com SIP/2.0',
      `v: SIP/2.0/TCP 127.0.0.1:${tcp.localPort};branch=z9hG4bK-compact1`,
      'f: <sip:bob@example.com>;tag=abc',
      't: <sip:bob@example.com>',
      'i: compact-1@test',
      'CSeq: 7',
      '  REGISTER',
      'm: <sip:bob@127.0.0.1>',
      'Subject: first part,',
      '\tsecond part',
      'l: 0',
      '',
      '',
    ].join('\r\n');
    tcp.send(msg);
    const r = await tcp.waitFor(/^SIP\/2\.0 200/);
    const req = seen[seen.length - 1]!;
    expect(req.get('Call-ID')).toBe('compact-1@test');
    expect(req.get('Subject')).toBe('first part, second part');
    expect(req.get('CSeq')).toBe('7 REGISTER');
    expect(r).toContain('\r\nCall-ID: compact-1@test\r\n');
    expect(r).toContain('\r\nCSeq: 7 REGISTER\r\n');
    expect(r).toContain('\r\nFrom: <sip:bob@example.com>;tag=abc\r\n');
    expect(r).toMatch(/\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK-compact1;rport=\d+\r\n/);
  });

  it('answers a double-CRLF ping with a CRLF pong (RFC 5626 §4.4.1)', async () => {
    tcp.send('\r\n\r\n');
    await until(() => tcp.raw === '\r\n', 2000, 'pong');
    tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }));
    await tcp.waitFor(/^SIP\/2\.0 200/);
  });

  it('requires Content-Length on a stream: 400 then close', async () => {
    tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }).replace(/Content-Length: 0\r\n/, ''));
    expect(await tcp.waitFor(/^SIP\/2\.0 400/)).toMatch(/missing Content-Length/);
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
  });

  it('conflicting Content-Length headers: 400 then close, a request hidden in the body never reaches the app', async () => {
    const hidden = sipRequest({ transport: 'TCP', port: tcp.localPort, callId: 'hidden@test' });
    // Framed by the first value the body is the hidden request; by the last it is the next message.
    const outer = sipRequest({ transport: 'TCP', port: tcp.localPort, body: hidden }).replace(/\r\n\r\n/, '\r\nContent-Length: 0\r\n\r\n');
    tcp.send(outer);
    expect(await tcp.waitFor(/^SIP\/2\.0 400/)).toMatch(/conflicting Content-Length/);
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
    expect(tcp.count(/^SIP\/2\.0/)).toBe(1);
    expect(seen.filter((r) => r.get('Call-ID') === 'hidden@test')).toHaveLength(0);
  });

  it('a framing error answers the requests read before it, then closes', async () => {
    const good = sipRequest({ transport: 'TCP', port: tcp.localPort, cseq: 1 });
    const unframable = sipRequest({ transport: 'TCP', port: tcp.localPort, cseq: 2 }).replace(/Content-Length: 0\r\n/, '');
    tcp.send(good + unframable);
    expect(await tcp.waitFor(/^SIP\/2\.0 400/)).toMatch(/\r\nCSeq: 2 REGISTER\r\n/);
    expect(await tcp.waitFor(/^SIP\/2\.0 200/)).toMatch(/\r\nCSeq: 1 REGISTER\r\n/); // the app's answer still arrives
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
  });

  it('a framing error with a request in flight: the connection closes once the app answers it', async () => {
    hold = true;
    try {
      tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }) + 'x'.repeat(5000)); // garbage past the size limit
      await until(() => held.length, 2000, 'request at app');
      await sleep(100);
      expect(tcp.closed).toBe(false);
      held.shift()!();
      await tcp.waitFor(/^SIP\/2\.0 200/);
      await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
    } finally {
      hold = false;
    }
  });

  it.each([
    ['without Content-Length', (m: string) => m.replace(/Content-Length: 0\r\n/, '')],
    ['too large', (m: string) => m.replace('Content-Length: 0', 'Content-Length: 5000')],
    ['with a malformed request line and no Content-Length', (m: string) => m.replace('ACK sip:', 'ACK  sip:').replace(/Content-Length: 0\r\n/, '')],
  ])('closes a stream on an ACK %s, answering nothing (RFC 3261 §17.2.1)', async (_what, spoil) => {
    tcp.send(spoil(sipRequest({ method: 'ACK', transport: 'TCP', port: tcp.localPort })));
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
    expect(tcp.raw).toBe('');
  });

  it('closes a stream that sends garbage without an end of headers', async () => {
    const errors = metric(await scrape(shared.edge), 'edge_sip_parse_errors_total{transport="tcp"}');
    tcp.send(Buffer.alloc(6000, 0x41));
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
    expect(tcp.raw).toBe(''); // no Via to answer to
    expect(metric(await scrape(shared.edge), 'edge_sip_parse_errors_total{transport="tcp"}')).toBe(errors + 1);
  });

  it('closes a stream whose message is too large, after a 513', async () => {
    tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort, body: 'x'.repeat(5000) }));
    await tcp.waitFor(/^SIP\/2\.0 513/);
    await until(() => tcp.closed, IDLE_MS - 500, 'close before the idle timeout');
  });

  it('answers on a half-closed connection, then closes it', async () => {
    hold = true;
    try {
      tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }));
      await until(() => held.length, 2000, 'request at app');
      tcp.socket.end(); // FIN: the client will not write any more
      await sleep(100);
      expect(tcp.closed).toBe(false);
      held.shift()!();
      await tcp.waitFor(/^SIP\/2\.0 200/);
      await until(() => tcp.closed, 3000, 'close');
    } finally {
      hold = false;
    }
  });

  it('survives a reset connection with a transaction in flight', async () => {
    hold = true;
    try {
      tcp.send(sipRequest({ transport: 'TCP', port: tcp.localPort }));
      await until(() => held.length, 2000, 'request at app');
      tcp.socket.resetAndDestroy();
      await sleep(50);
      held.shift()!(); // the answer has nowhere to go
    } finally {
      hold = false;
    }
    const next = await StreamClient.tcp(shared.edge);
    next.send(sipRequest({ transport: 'TCP', port: next.localPort }));
    await next.waitFor(/^SIP\/2\.0 200/);
    next.close();
  });

  it('closes idle connections', async () => {
    const idle = metric(await scrape(shared.edge), 'edge_sip_connections_rejected_total{transport="tcp",reason="idle"}');
    await until(() => tcp.closed, IDLE_MS + 2500, 'idle close');
    expect(metric(await scrape(shared.edge), 'edge_sip_connections_rejected_total{transport="tcp",reason="idle"}')).toBe(idle + 1);
  });

  it('caps connections per source address', async () => {
    const many = await Promise.all(Array.from({ length: 45 }, () => StreamClient.tcp(shared.edge)));
    await until(() => many.filter((c) => c.closed).length >= 5, 2000, 'connections past the cap closed');
    const m = await scrape(shared.edge);
    expect(metric(m, 'edge_sip_connections_rejected_total{transport="tcp",reason="per-source connection limit"}')).toBeGreaterThanOrEqual(5);
    expect(metric(m, 'edge_sip_connections_open{transport="tcp"}')).toBeLessThanOrEqual(40);
    for (const c of many) c.close();
  });
});

describe('a message that takes too long to arrive on a stream', () => {
  /** The edge's message timeout in these tests; the idle timeout is much longer. */
  const MESSAGE_MS = 1000;
  const shared = sharedEdgeWithApp(recordRegisters([]), { limits: { messageTimeoutMs: MESSAGE_MS, idleTimeoutMs: 20_000 } });

  it('closes a connection that drips one message a byte at a time, however often a byte comes', async () => {
    const tcp = await StreamClient.tcp(shared.edge);
    const series = 'edge_sip_connections_rejected_total{transport="tcp",reason="incomplete message"}';
    const before = metric(await scrape(shared.edge), series);
    try {
      const msg = sipRequest({ transport: 'TCP', port: tcp.localPort });
      // Every byte restarts the idle timeout; the message as a whole never completes.
      for (let i = 0; i < 40 && !tcp.closed; i++) {
        tcp.send(msg[i]!);
        await sleep(150);
      }
      expect(tcp.closed).toBe(true);
      expect(tcp.raw).toBe('');
      expect(metric(await scrape(shared.edge), series)).toBe(before + 1);
    } finally {
      tcp.close();
    }
  });

  it('keeps a connection whose messages each complete in time, though one is always partly buffered', async () => {
    const tcp = await StreamClient.tcp(shared.edge);
    try {
      const msgs = [1, 2, 3, 4, 5].map((n) => sipRequest({ transport: 'TCP', port: tcp.localPort, cseq: n }));
      // Each write ends inside the next message: the framer holds a partial message from start to end.
      tcp.send(msgs[0]!.slice(0, 40));
      for (let i = 0; i < msgs.length; i++) {
        await sleep(MESSAGE_MS / 3);
        tcp.send(msgs[i]!.slice(40) + (msgs[i + 1]?.slice(0, 40) ?? ''));
      }
      await tcp.waitFor(/^SIP\/2\.0 200/, 5);
      expect(tcp.closed).toBe(false);
    } finally {
      tcp.close();
    }
  });
});
