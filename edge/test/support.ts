/** Test helpers: a real edge on port 0, drachtio-srf apps, raw SIP clients over UDP, TCP and TLS. */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { startEdge, Edge, EdgeOptions } from '../index';
import { FrameDecoder } from '../control/frame-decoder';
import { sleep, until } from '../../shared/testing/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Srf = require('drachtio-srf');

/** The subset of drachtio-srf's request and response the tests use. */
export interface SrfRequest {
  method: string;
  source_address: string;
  source_port: number;
  protocol: string;
  receivedOn: string;
  stackTxnId: string;
  get(name: string): string;
  msg: { raw: string };
}
export interface SrfResponse {
  send(status: number, reason?: string | object, opts?: object, cb?: (err: unknown, msg: { raw?: string } | undefined) => void): void;
}
export interface SrfApp {
  register(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  options(fn: (req: SrfRequest, res: SrfResponse) => void): void;
  disconnect(): void;
}

export const SECRET = 'test-secret-' + randomBytes(6).toString('hex');

/** An edge on 127.0.0.1 with every port chosen by the OS. */
export function testEdge(extra: Partial<EdgeOptions> = {}): Promise<Edge> {
  return startEdge({
    sipAddress: '127.0.0.1',
    sipPort: 0,
    tlsPort: 0,
    controlAddress: '127.0.0.1',
    controlPort: 0,
    metricsPort: 0,
    secret: SECRET,
    ...extra,
  });
}

export { sleep, until };

/** A drachtio-srf app connected to the edge, routes registered. `setup` installs its handlers; `tls` connects over TLS. */
export async function connectApp(edge: Edge, setup: (srf: SrfApp) => void, secret = SECRET, opts: { tls?: boolean } = {}): Promise<SrfApp> {
  const srf = new Srf();
  setup(srf);
  await new Promise<void>((resolve, reject) => {
    srf.on('connect', (err: unknown) => (err ? reject(err) : resolve()));
    srf.on('error', () => undefined);
    srf.connect({
      host: edge.addresses.control.address,
      port: edge.addresses.control.port,
      secret,
      ...(opts.tls ? { tls: { rejectUnauthorized: false } } : {}),
      reconnect: { maxAttempts: 1 },
    });
  });
  // The route frames are written right before 'connect'; let the edge read them.
  await sleep(50);
  return srf;
}

/** App setup: every REGISTER is recorded in `seen`, then answered by `answer` (200 by default). */
export function recordRegisters(seen: SrfRequest[], answer: (res: SrfResponse) => void = (res) => res.send(200)): (srf: SrfApp) => void {
  return (srf) =>
    srf.register((req, res) => {
      seen.push(req);
      answer(res);
    });
}

/**
 * One edge and one app shared by every test of a describe block: started in
 * beforeAll, stopped in afterAll. Read `edge` inside tests, once started.
 */
export function sharedEdgeWithApp(setup: (srf: SrfApp) => void, edgeOptions: Partial<EdgeOptions> = {}): { readonly edge: Edge } {
  let edge: Edge | undefined;
  let app: SrfApp | undefined;
  beforeAll(async () => {
    edge = await testEdge(edgeOptions);
    app = await connectApp(edge, setup);
  });
  afterAll(async () => {
    app?.disconnect();
    await edge?.stop();
  });
  return {
    get edge(): Edge {
      if (!edge) throw new Error('the shared edge is not started yet');
      return edge;
    },
  };
}

/** Resolves once `socket` emits `event` (connect, secureConnect); rejects on an error first. */
function connected(socket: net.Socket, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once(event, () => resolve());
    socket.once('error', reject);
  });
}

/** A REGISTER request (or another method) with fresh branch, Call-ID and tags unless given. */
export function sipRequest(o: {
  method?: string;
  transport?: string;
  host?: string;
  port?: number;
  branch?: string;
  callId?: string;
  cseq?: number;
  extra?: string[];
  body?: string;
  rport?: boolean;
} = {}): string {
  const method = o.method ?? 'REGISTER';
  const branch = o.branch ?? `z9hG4bK-${randomBytes(6).toString('hex')}`;
  const callId = o.callId ?? `${randomBytes(8).toString('hex')}@test`;
  const body = o.body ?? '';
  return [
    `${method} sip:example.com SIP/2.0`,
    `Via: SIP/2.0/${o.transport ?? 'UDP'} ${o.host ?? '127.0.0.1'}:${o.port ?? 5999};branch=${branch}${o.rport ? ';rport' : ''}`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=${randomBytes(4).toString('hex')}`,
    'To: <sip:alice@example.com>',
    `Call-ID: ${callId}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Contact: <sip:alice@127.0.0.1:5999>',
    'Expires: 3600',
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}

/** Collects what a raw client receives, as latin1 text. */
class Inbox {
  readonly messages: string[] = [];
  /** Waits for the n-th message (1-based) matching `re`. */
  async waitFor(re: RegExp, n = 1, timeoutMs = 3000): Promise<string> {
    return until(() => this.messages.filter((m) => re.test(m))[n - 1], timeoutMs, `message ${re}`);
  }
  count(re: RegExp): number {
    return this.messages.filter((m) => re.test(m)).length;
  }
}

/** A UDP SIP client on 127.0.0.1. */
export class UdpClient extends Inbox {
  private constructor(private readonly socket: dgram.Socket, readonly port: number) {
    super();
    socket.on('message', (m) => this.messages.push(m.toString('latin1')));
  }
  static async open(): Promise<UdpClient> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new UdpClient(s, s.address().port);
  }
  send(edge: Edge, text: string | Buffer): void {
    this.socket.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, edge.addresses.udp.port, '127.0.0.1');
  }
  close(): void {
    this.socket.close();
  }
}

/** A TCP or TLS SIP client; messages are split on Content-Length. */
export class StreamClient extends Inbox {
  private buf = '';
  closed = false;
  raw = '';
  private constructor(readonly socket: net.Socket) {
    super();
    socket.on('data', (d: Buffer) => {
      const s = d.toString('latin1');
      this.raw += s;
      this.buf += s;
      this.split();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }
  private split(): void {
    for (;;) {
      while (this.buf.startsWith('\r\n')) {
        this.messages.push('\r\n');
        this.buf = this.buf.slice(2);
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(this.buf.slice(0, end));
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (this.buf.length < total) return;
      this.messages.push(this.buf.slice(0, total));
      this.buf = this.buf.slice(total);
    }
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  static async tcp(edge: Edge): Promise<StreamClient> {
    const s = net.connect(edge.addresses.tcp.port, '127.0.0.1');
    await connected(s, 'connect');
    return new StreamClient(s);
  }
  static async tls(edge: Edge): Promise<StreamClient> {
    const s = tls.connect({ port: edge.addresses.tls!.port, host: '127.0.0.1', rejectUnauthorized: false });
    await connected(s, 'secureConnect');
    return new StreamClient(s);
  }
  send(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }
  close(): void {
    this.socket.destroy();
  }
}

/** Reads the metrics page. */
export async function scrape(edge: Edge): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${edge.addresses.metrics!.port}/metrics`);
  return r.text();
}

/** The value of one metric series in a scrape (0 when absent). */
export function metric(text: string, series: string): number {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return 0;
}

/** Waits until the edge counts `n` authenticated apps. */
export async function waitForApps(edge: Edge, n: number, timeoutMs = 2000): Promise<void> {
  await until(async () => metric(await scrape(edge), 'edge_control_apps_connected') === n, timeoutMs, `${n} apps connected`);
}

/** A raw control-protocol client (what drachtio-srf does, byte for byte visible). */
export class ControlClient {
  readonly frames: string[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      for (const f of this.decoder.push(d).frames) this.frames.push(f.toString('utf8'));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }
  static async open(edge: Edge): Promise<ControlClient> {
    const s = net.connect(edge.addresses.control.port, '127.0.0.1');
    await connected(s, 'connect');
    return new ControlClient(s);
  }
  /** Sends `<id>|<payload>`; returns the id. */
  send(payload: string, id = randomBytes(8).toString('hex')): string {
    const s = `${id}|${payload}`;
    this.socket.write(`${Buffer.byteLength(s, 'utf8')}#${s}`);
    return id;
  }
  /** The answer frame to message `id`, split on `|` (leader only) plus the text after CRLF. */
  async reply(id: string, timeoutMs = 3000): Promise<{ tokens: string[]; body: string }> {
    const f = await until(() => this.frames.find((x) => x.split('|')[2] === id && x.split('|')[1] === 'response'), timeoutMs, `reply to ${id}`);
    return split(f);
  }
  async nextSip(n = 1, timeoutMs = 3000): Promise<{ tokens: string[]; body: string }> {
    const f = await until(() => this.frames.filter((x) => x.split('|')[1] === 'sip')[n - 1], timeoutMs, 'sip frame');
    return split(f);
  }
  async authenticate(secret = SECRET, routes: string[] = []): Promise<void> {
    const r = await this.reply(this.send(`authenticate|${secret}|`));
    if (r.tokens[3] !== 'OK') throw new Error('authentication failed');
    for (const verb of routes) await this.reply(this.send(`route|${verb}`));
  }
  close(): void {
    this.socket.destroy();
  }
}

function split(frame: string): { tokens: string[]; body: string } {
  const i = frame.indexOf('\r\n');
  return { tokens: (i === -1 ? frame : frame.slice(0, i)).split('|'), body: i === -1 ? '' : frame.slice(i + 2) };
}
