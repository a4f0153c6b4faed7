import fc from 'fast-check';
import net from 'node:net';
import { Edge } from '../index';
import { connectApp, ControlClient, metric, scrape, SECRET, sipRequest, sleep, SrfApp, testEdge, UdpClient, until } from './support';

const SEED = Number(process.env.EDGE_FUZZ_SEED ?? 20240611);

/** Mutations of a valid request: byte flips, insertions, deletions, duplicated and swapped lines. */
function mutated(base: Buffer): fc.Arbitrary<Buffer> {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(base.length - 1), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(base.length), bytes: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(base.length), len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('special' as const), pos: fc.nat(base.length), text: fc.constantFrom('\r\n', ':', ';', ',', '"', '<', '>', ' ', '\t', '\r\n ', '\0', '\n', '#', '|', 'Content-Length: 99999\r\n', 'v: SIP/2.0/UDP x\r\n') }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 6 }).map((ms) => {
    let b = base;
    for (const m of ms) {
      const pos = Math.min(m.pos, b.length);
      if (m.kind === 'flip' && b.length) {
        b = Buffer.from(b);
        b[Math.min(pos, b.length - 1)] = m.byte;
      } else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, pos), Buffer.from(m.bytes), b.subarray(pos)]);
      else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + m.len)]);
      else if (m.kind === 'special') b = Buffer.concat([b.subarray(0, pos), Buffer.from(m.text, 'latin1'), b.subarray(pos)]);
    }
    return b;
  });
}

/** Messages built from SIP-like pieces: plausible start lines, header names (compact too), odd values. */
const sipish: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom('REGISTER sip:example.com SIP/2.0', 'INVITE sip:x@y SIP/2.0', 'OPTIONS sip:a SIP/2.0', 'ACK sip:a SIP/2.0', 'CANCEL sip:a SIP/2.0', 'SIP/2.0 200 OK', 'FOO bar baz', ''),
    fc.array(
      fc.tuple(
        fc.constantFrom('Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Contact', 'm', 'Expires', 'Content-Length', 'l', 'X-Y', 'Max-Forwards'),
        fc.oneof(
          fc.constantFrom('SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-f', 'SIP/2.0/TCP [::1];rport', '<sip:a@b>;tag=1', '1 REGISTER', '*', '0', '3600', '70', 'abc'),
          fc.string({ maxLength: 60 }),
        ),
      ),
      { maxLength: 20 },
    ),
    fc.string({ maxLength: 100 }),
  )
  .map(([start, headers, body]) => Buffer.from(`${start}\r\n${headers.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n${body}`, 'latin1'));

/** Writes `batch` on a fresh connection, waits a moment, closes it. */
async function streamTo(port: number, batch: Buffer[]): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.on('data', () => undefined);
  const ok = await new Promise<boolean>((r) => (sock.once('connect', () => r(true)), sock.once('error', () => r(false))));
  if (ok) for (const b of batch) if (sock.writable) sock.write(b);
  await sleep(5);
  sock.destroy();
}

/** Runs `fn` over slices of `items`, 16 at a time; returns how many slices there were. */
async function inBatches(items: Buffer[], size: number, fn: (batch: Buffer[]) => Promise<void>): Promise<number> {
  const batches: Buffer[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  for (let i = 0; i < batches.length; i += 16) await Promise.all(batches.slice(i, i + 16).map(fn));
  return batches.length;
}

describe('fuzzing the edge with hostile input', () => {
  let edge: Edge;
  let app: SrfApp;

  beforeAll(async () => {
    edge = await testEdge({ limits: { maxMessageBytes: 8192 } });
    app = await connectApp(edge, (srf) => {
      srf.register((_req, res) => res.send(200));
      srf.options((_req, res) => res.send(200));
    });
  });
  afterAll(async () => {
    app.disconnect();
    await edge.stop();
  });

  it(`survives thousands of mutated and random messages on UDP, TCP and the control port (seed ${SEED})`, async () => {
    const base = Buffer.from(sipRequest({ port: 5999 }), 'latin1');
    const inputs = fc.sample(fc.oneof({ weight: 5, arbitrary: mutated(base) }, { weight: 3, arbitrary: sipish }, { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((a) => Buffer.from(a)) }), { seed: SEED, numRuns: 4000 });
    const heapBefore = process.memoryUsage().heapUsed;

    // UDP: every input as a datagram, paced so the socket buffer is not the thing under test.
    const udp = await UdpClient.open();
    for (let i = 0; i < inputs.length; i++) {
      udp.send(edge, inputs[i]!);
      if (i % 200 === 199) await sleep(5);
    }

    // TCP: the inputs streamed over many connections, a few per connection (the edge closes a bad stream).
    const tcpConnections = await inBatches(inputs.slice(0, 2400), 8, (batch) => streamTo(edge.addresses.tcp.port, batch));

    // Control port: random bytes and random well-framed frames on unauthenticated connections,
    // then random well-framed frames from authenticated apps.
    const framed = fc.tuple(
      fc.constantFrom('sip', 'route', 'remove_route', 'ping', 'proxy', 'authenticate', 'cdr:start', 'response', 'x'),
      fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.uuid()), { maxLength: 6 }),
      fc.option(fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\n\r\n', 'SIP/2.0 999 x\r\n\r\n', 'OPTIONS sip:a SIP/2.0\r\n\r\n'))),
    ).map(([type, fields, sip]) => {
      const p = `${fields.length}|${[type, ...fields].join('|')}${sip === null ? '' : `\r\n${sip}`}`;
      return Buffer.from(`${Buffer.byteLength(p)}#${p}`);
    });
    const unauth = fc.sample(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((x) => Buffer.from(x)), framed), { seed: SEED, numRuns: 600 });
    await inBatches(unauth, 3, (batch) => streamTo(edge.addresses.control.port, batch));
    const authedFrames = fc.sample(framed, { seed: SEED + 1, numRuns: 1500 });
    let sent = 0;
    while (sent < authedFrames.length) {
      const c = await ControlClient.open(edge);
      await c.authenticate(SECRET);
      for (; sent < authedFrames.length && !c.closed; sent++) {
        c.socket.write(authedFrames[sent]!);
        if (sent % 100 === 99) await sleep(2);
      }
      await sleep(20);
      c.close();
    }

    await sleep(300);
    // A valid REGISTER still gets through, on UDP and TCP.
    const probe = await UdpClient.open();
    probe.send(edge, sipRequest({ port: probe.port }));
    await probe.waitFor(/^SIP\/2\.0 200/, 1, 5000);
    probe.close();
    udp.close();

    const m = await scrape(edge);
    if (process.env.EDGE_FUZZ_VERBOSE) console.log(m, { tcpConnections });
    expect(metric(m, 'edge_sip_parse_errors_total{transport="udp"}')).toBeGreaterThan(100);
    expect(metric(m, 'edge_control_apps_connected')).toBe(1);
    expect(metric(m, 'edge_sip_transactions_active')).toBeLessThan(4000);
    await until(async () => metric(await scrape(edge), 'edge_sip_connections_open{transport="tcp"}') === 0, 5000, 'fuzz connections closed');
    expect(metric(m, 'edge_control_frames_received_total{type="sip"}')).toBeGreaterThan(100);
    if (global.gc) global.gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(150 * 1024 * 1024);
  });
});
