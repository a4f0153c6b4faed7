/**
 * Test support for the registrar's integration tests: the full stack (edge +
 * registrar, real PostgreSQL and Redis, an isolated schema and key prefix), and
 * a small SIP client over raw UDP/TCP/TLS sockets that answers digest challenges.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { selfSignedCert } from '../../shared/testing/tls';
import pino from 'pino';
import type { Pool } from 'pg';
import { startEdge, Edge } from '../../edge';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { clearPrefix, testKeyPrefix, testRedis } from '../../shared/testing/redis';
import { testRedisUrl } from '../../shared/testing/env';
import { createRedis, Redis } from '../../shared/redis';
import { RegistrationStore } from '../../shared/registration-store';
import { startRegistrar, EngineConnection, RegistrarOptions, RunningRegistrar } from '../index';

export const DOMAIN = 'sip.test.example';

export function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}
export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export interface DeviceRow {
  id: string;
  username: string;
  password: string;
  status?: 'active' | 'inactive';
}

export interface Stack {
  edge: Edge;
  registrar: RunningRegistrar;
  db: TestDb;
  redis: Redis;
  prefix: string;
  store: RegistrationStore;
  accountId: string;
  udp: { address: string; port: number };
  tcp: { address: string; port: number };
  tls?: { address: string; port: number };
  /** The self-signed certificate of the TLS listener (PEM file). */
  tlsCertPath?: string;
  /** The edge's control secret (for more registrars on the same edge). */
  engineSecret: string;
  /** The further edges of `extraEdges`, connected to the same registrar. */
  extraEdges: Edge[];
  addDevice(d: DeviceRow): Promise<void>;
  /** Events written so far (oldest first), as stored. */
  events(): Promise<StoredEventRow[]>;
  stop(): Promise<void>;
}

/** An events row as a test reads it. */
export interface StoredEventRow {
  type: string;
  accountId: string | null;
  deviceId: string | null;
  data: Record<string, unknown>;
}

export interface StackOptions {
  tls?: boolean;
  registrar?: Partial<RegistrarOptions>;
  /** Redis the registrar uses (defaults to the test Redis). */
  redisUrl?: string;
  /** A Redis Cluster's seed nodes instead (the stack's own client is a Cluster client too). */
  redisClusterNodes?: string[];
  /** More edges, each with its own SIP ports, all served by the stack's registrar. */
  extraEdges?: number;
  /** The registrar's connection to the (first) edge; default: TCP to its control listener. */
  engine?: (edge: Edge, secret: string) => EngineConnection;
}

/** Inserts an account for DOMAIN and starts edge + registrar against a fresh schema and key prefix. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const db = await createTestDb();
  const prefix = testKeyPrefix();
  const redis = opts.redisClusterNodes ? createRedis({ clusterNodes: opts.redisClusterNodes }) : testRedis();
  const secret = randomBytes(12).toString('hex');
  const cert = opts.tls ? selfSignedCert() : undefined;
  const edge = await startEdge({
    sipAddress: '127.0.0.1',
    sipPort: 0,
    tlsPort: 0,
    controlAddress: '127.0.0.1',
    controlPort: 0,
    metricsPort: null,
    secret,
    ...(cert ? { tls: { cert: cert.certPath, key: cert.keyPath } } : {}),
  });
  const extraEdges: Edge[] = [];
  for (let i = 0; i < (opts.extraEdges ?? 0); i++) {
    extraEdges.push(await startEdge({ sipAddress: '127.0.0.1', sipPort: 0, tlsPort: 0, controlAddress: '127.0.0.1', controlPort: 0, metricsPort: null, secret }));
  }
  const accountId = `acc_${randomBytes(6).toString('hex')}`;
  await db.pool.query('INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3)', [accountId, 'Test account', DOMAIN]);
  const registrar = await startRegistrar({
    databaseUrl: db.databaseUrl,
    databaseSchema: db.schema,
    databasePoolSize: 4,
    redisUrl: opts.redisUrl ?? testRedisUrl(),
    redisClusterNodes: opts.redisClusterNodes,
    redisKeyPrefix: prefix,
    engine: opts.engine ? opts.engine(edge, secret) : { host: '127.0.0.1', port: edge.addresses.control.port, secret },
    extraEngines: extraEdges.map((e) => ({ host: '127.0.0.1', port: e.addresses.control.port, secret })),
    http: { host: '127.0.0.1', port: 0 },
    defaultDomain: 'default.test.example',
    nonceSecret: randomBytes(24).toString('hex'),
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    reaperIntervalMs: 200,
    eventFlushMs: 25,
    ...opts.registrar,
  });
  for (let i = 0; i < 200 && !registrar.engineConnected; i++) await new Promise((r) => setTimeout(r, 25));
  if (!registrar.engineConnected) throw new Error('registrar did not connect to the edge');
  const store = new RegistrationStore(redis, { prefix });
  return {
    edge,
    registrar,
    db,
    redis,
    prefix,
    store,
    accountId,
    udp: edge.addresses.udp,
    tcp: edge.addresses.tcp,
    tls: edge.addresses.tls,
    tlsCertPath: cert?.certPath,
    engineSecret: secret,
    extraEdges,
    async addDevice(d) {
      await insertDevice(db.pool, accountId, d);
    },
    async events() {
      const { rows } = await db.pool.query<{ type: string; account_id: string | null; device_id: string | null; data: Record<string, unknown> }>(
        'SELECT type, account_id, device_id, data FROM events ORDER BY seq',
      );
      return rows.map((r) => ({ type: r.type, accountId: r.account_id, deviceId: r.device_id, data: r.data }));
    },
    async stop() {
      await registrar.stop();
      await edge.stop();
      for (const e of extraEdges) await e.stop();
      await clearPrefix(redis, prefix);
      redis.disconnect();
      await db.close();
    },
  };
}

/** Inserts a device row the way the API stores it (HA1s over DOMAIN as realm). */
export async function insertDevice(pool: Pool, accountId: string, d: DeviceRow): Promise<void> {
  await pool.query(
    `INSERT INTO devices (id, account_id, name, sip_username, sip_domain, status, password_enc, ha1_md5, ha1_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, 'test:not:encrypted:x', $7, $8)`,
    [d.id, accountId, `Device ${d.username}`, d.username, DOMAIN, d.status ?? 'active', md5(`${d.username}:${DOMAIN}:${d.password}`), sha256(`${d.username}:${DOMAIN}:${d.password}`)],
  );
}

/** A parsed SIP response. */
export interface SipResponse {
  status: number;
  raw: string;
  /** All values of a header (case-insensitive name). */
  all(name: string): string[];
  get(name: string): string | undefined;
}

export function parseResponse(raw: string): SipResponse {
  const [head] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const status = Number(/^SIP\/2\.0 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  const compact: Record<string, string> = { m: 'contact', i: 'call-id', f: 'from', t: 'to' };
  const all = (name: string) => headers.filter(([n]) => (compact[n] ?? n) === name.toLowerCase()).map(([, v]) => v);
  return { status, raw, all, get: (name) => all(name)[0] };
}

type Transport = 'UDP' | 'TCP' | 'TLS';

/** A SIP client socket: sends requests, collects responses. */
export class SipClient {
  /**
   * Responses not yet taken, by `<Call-ID> <CSeq number>`, and the waiters for each key. A
   * response wakes only the waiters of its own key: with one list woken whole and scanned by
   * each waiter, a load test's cost grew with the square of its outstanding requests.
   */
  private readonly responses = new Map<string, string[]>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private buffer = '';

  private constructor(
    readonly transport: Transport,
    private readonly udp: UdpSocket | null,
    private readonly stream: Socket | null,
    private readonly target: { address: string; port: number },
    readonly localPort: number,
  ) {}

  static async udp(target: { address: string; port: number }, bindAddress = '127.0.0.1'): Promise<SipClient> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, bindAddress, resolve));
    const c = new SipClient('UDP', sock, null, target, sock.address().port);
    sock.on('message', (m) => c.push(m.toString('utf8')));
    return c;
  }

  static async tcp(target: { address: string; port: number }, localAddress = '127.0.0.1'): Promise<SipClient> {
    const sock = tcpConnect({ host: target.address, port: target.port, localAddress });
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const c = new SipClient('TCP', null, sock, target, sock.localPort!);
    sock.on('data', (d) => c.feed(d.toString('utf8')));
    return c;
  }

  static async tls(target: { address: string; port: number }, ca: string): Promise<SipClient> {
    const sock = tlsConnect({ host: target.address, port: target.port, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
    const c = new SipClient('TLS', null, sock, target, sock.localPort!);
    sock.on('data', (d) => c.feed(d.toString('utf8')));
    return c;
  }

  private static key(callId: string, cseq: number | string): string {
    return `${callId} ${cseq}`;
  }

  private push(msg: string): void {
    const callId = /\r\nCall-ID:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(msg)?.[1];
    const cseq = /\r\nCSeq:\s*(\d+) /i.exec(msg)?.[1];
    if (callId === undefined || cseq === undefined) return; // not an answer any request waits for
    const key = SipClient.key(callId, Number(cseq));
    const queue = this.responses.get(key);
    if (queue) queue.push(msg);
    else this.responses.set(key, [msg]);
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    for (const f of w) f();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.slice(0, end);
      const len = Number(/\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buffer.length < end + 4 + len) return;
      const msg = this.buffer.slice(0, end + 4 + len);
      this.buffer = this.buffer.slice(end + 4 + len);
      if (msg.trim() !== '') this.push(msg);
    }
  }

  send(text: string): void {
    if (this.udp) this.udp.send(text, this.target.port, this.target.address);
    else this.stream!.write(text);
  }

  /** The next response with this Call-ID and CSeq number, or null after `timeoutMs`. */
  async next(callId: string, cseq: number, timeoutMs = 3000): Promise<SipResponse | null> {
    const deadline = Date.now() + timeoutMs;
    const key = SipClient.key(callId, cseq);
    for (;;) {
      const queue = this.responses.get(key);
      if (queue) {
        const msg = queue.shift()!;
        if (queue.length === 0) this.responses.delete(key);
        return parseResponse(msg);
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        let wake = (): void => undefined;
        const t = setTimeout(() => {
          const list = this.waiters.get(key);
          const i = list ? list.indexOf(wake) : -1;
          if (i >= 0) list!.splice(i, 1);
          if (list && list.length === 0) this.waiters.delete(key);
          resolve();
        }, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
        const list = this.waiters.get(key);
        if (list) list.push(wake);
        else this.waiters.set(key, [wake]);
      });
    }
  }

  close(): void {
    this.udp?.close();
    this.stream?.destroy();
  }
}

export interface RegisterFields {
  user: string;
  domain?: string;
  /** AOR user in To/From when it differs from the authenticating user. */
  toUser?: string;
  callId: string;
  cseq: number;
  /** Contact header value(s); undefined = query (no Contact). */
  contact?: string;
  expires?: number;
  authorization?: string;
  transport: Transport;
  localPort: number;
  userAgent?: string;
  extra?: string[];
}

/** A REGISTER as a phone would send it. */
export function buildRegister(f: RegisterFields): string {
  const domain = f.domain ?? DOMAIN;
  const aor = `sip:${f.toUser ?? f.user}@${domain}`;
  const lines = [
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/${f.transport} 127.0.0.1:${f.localPort};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <${aor}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <${aor}>`,
    `Call-ID: ${f.callId}`,
    `CSeq: ${f.cseq} REGISTER`,
  ];
  if (f.contact !== undefined) lines.push(`Contact: ${f.contact}`);
  if (f.expires !== undefined) lines.push(`Expires: ${f.expires}`);
  if (f.authorization) lines.push(`Authorization: ${f.authorization}`);
  lines.push(`User-Agent: ${f.userAgent ?? 'RegistrarTest/1.0'}`, ...(f.extra ?? []), 'Content-Length: 0', '', '');
  return lines.join('\r\n');
}

/** Reads `k=v, k="v"` challenge parameters. */
export function challengeParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/([a-z-]+)=(?:"([^"]*)"|([^,\s]*))/gi)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/** An Authorization answering `challenge` (RFC 7616 §3.4, qop=auth). */
export function digestAuthorization(
  challenge: string,
  a: { user: string; password: string; uri: string; method?: string; nc?: number; cnonce?: string; realm?: string },
): string {
  const p = challengeParams(challenge);
  const alg = (p.algorithm ?? 'MD5').toUpperCase();
  const h = alg === 'SHA-256' ? sha256 : md5;
  const realm = a.realm ?? p.realm!;
  const nc = (a.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = a.cnonce ?? randomBytes(6).toString('hex');
  const ha1 = h(`${a.user}:${realm}:${a.password}`);
  const ha2 = h(`${a.method ?? 'REGISTER'}:${a.uri}`);
  const response = h(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${a.user}", realm="${realm}", nonce="${p.nonce}", uri="${a.uri}", response="${response}", algorithm=${alg}, cnonce="${cnonce}", qop=auth, nc=${nc}, opaque="${p.opaque}"`;
}

/** A phone: one client socket, one Call-ID, CSeq counting up, digest answered. */
export class Phone {
  callId = `${randomBytes(8).toString('hex')}@test`;
  cseq = 0;
  lastChallenge: string | undefined;

  constructor(
    readonly client: SipClient,
    readonly user: string,
    public password: string,
    /** `retransmit`: over UDP, resend the same request after 500 ms, doubling to 4 s, until answered (RFC 3261 §17.1.2.2), as phones do. */
    readonly opts: { toUser?: string; algorithm?: 'MD5' | 'SHA-256'; timeoutMs?: number; retransmit?: boolean } = {},
  ) {}

  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.client.localPort};transport=${this.client.transport.toLowerCase()}>`;
  }

  /** Sends one REGISTER (no digest dance) and waits for its answer. */
  async send(fields: Partial<RegisterFields> = {}, timeoutMs = this.opts.timeoutMs ?? 3000): Promise<SipResponse | null> {
    this.cseq++;
    const cseq = fields.cseq ?? this.cseq;
    const text = buildRegister({ user: this.user, toUser: this.opts.toUser, callId: this.callId, transport: this.client.transport, localPort: this.client.localPort, contact: this.contact, expires: 3600, ...fields, cseq });
    this.client.send(text);
    if (!this.opts.retransmit || this.client.transport !== 'UDP') return this.client.next(fields.callId ?? this.callId, cseq, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (let t = 500; ; t = Math.min(t * 2, 4000)) {
      const got = await this.client.next(fields.callId ?? this.callId, cseq, Math.min(t, deadline - Date.now()));
      if (got || Date.now() >= deadline) return got;
      this.retransmissions++;
      this.client.send(text);
    }
  }

  /** Requests sent again for want of an answer (with `retransmit`). */
  retransmissions = 0;

  /** The challenge to answer: the one of the requested algorithm, else the first. */
  pickChallenge(res: SipResponse): string {
    const all = res.all('www-authenticate');
    const want = this.opts.algorithm;
    return (want && all.find((c) => c.includes(`algorithm=${want}`))) || all[0]!;
  }

  /** REGISTER → 401 → REGISTER with Authorization → final answer. Returns both answers. */
  async register(fields: Partial<RegisterFields> = {}): Promise<{ challenge: SipResponse | null; final: SipResponse | null; authorization?: string }> {
    const challenge = await this.send(fields);
    if (!challenge || challenge.status !== 401) return { challenge, final: challenge };
    this.lastChallenge = this.pickChallenge(challenge);
    const authorization = digestAuthorization(this.lastChallenge, { user: this.user, password: this.password, uri: `sip:${fields.domain ?? DOMAIN}` });
    const final = await this.send({ ...fields, authorization });
    return { challenge, final, authorization };
  }
}

/**
 * Starts a private redis-server on a free port (for outage tests); returns its port and a stop by PID
 * (SIGKILL: a crash). With `aofDir`, it keeps an append-only file there (appendfsync everysec, as
 * npm start and docker-compose.yml run it) and a restart on the same folder loads it back.
 */
export async function startPrivateRedis(port: number, opts: { aofDir?: string } = {}): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const persistence = opts.aofDir ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', opts.aofDir] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid!, 'SIGKILL');
      }),
  };
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Inserts `count` devices in one statement: ids `dev_<p><i>`, usernames `<p><i>`, passwords
 * `pw-<i>` (HA1s as the API stores them).
 */
export async function insertDevices(stack: Stack, p: string, count: number): Promise<void> {
  const values: string[] = [];
  const params: string[] = [];
  for (let i = 0; i < count; i++) {
    const u = `${p}${i}`;
    params.push(`dev_${u}`, u, md5(`${u}:${DOMAIN}:pw-${i}`), sha256(`${u}:${DOMAIN}:pw-${i}`));
    const b = i * 4;
    values.push(`($${b + 1}, '${stack.accountId}', 'Device', $${b + 2}, '${DOMAIN}', 'active', 'test:not:encrypted:x', $${b + 3}, $${b + 4})`);
  }
  await stack.db.pool.query(`INSERT INTO devices (id, account_id, name, sip_username, sip_domain, status, password_enc, ha1_md5, ha1_sha256) VALUES ${values.join(', ')}`, params);
}

/**
 * One more registrar on the stack's edge, in a child process (registrar-child.ts) that a test
 * may kill (SIGKILL) or stop (SIGTERM: drain, then exit). It shares the stack's database,
 * Redis prefix and `nonceSecret` (give the stack's registrar the same one): a challenge from
 * one registrar is answered to another.
 */
export function startChildRegistrar(stack: Stack, nonceSecret: string): Promise<{ proc: ChildProcess; httpPort: number }> {
  const root = join(__dirname, '..', '..');
  const proc = spawn(process.execPath, ['-r', join(root, 'shared', 'testing', 'swc-register.js'), join(__dirname, 'registrar-child.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      REGISTRAR_CHILD_OPTIONS: JSON.stringify({
        databaseUrl: stack.db.databaseUrl,
        databaseSchema: stack.db.schema,
        databasePoolSize: 4,
        redisUrl: testRedisUrl(),
        redisKeyPrefix: stack.prefix,
        engine: { host: '127.0.0.1', port: stack.edge.addresses.control.port, secret: stack.engineSecret },
        http: { host: '127.0.0.1', port: 0 },
        defaultDomain: 'default.test.example',
        nonceSecret,
        eventFlushMs: 25,
        // These tests measure crashes and restarts, not overload: no load shedding.
        maxInFlight: 100_000,
      }),
    },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the child registrar did not start')), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, httpPort: Number(m[1]) });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the child registrar exited (${code})`));
    });
  });
}
