// Idle connections (bench/idle-connections.sh starts edge, registrar and a private Redis, then
// runs this once per transport against fresh processes): IDLE_PHONES phones each open their own
// TCP or TLS connection, register over it as an RFC 5626 phone does (+sip.instance, reg-id, a
// Contact with a public address that is not the connection's, a 28-character User-Agent), answer
// the Digest challenge, and then hold the connection without a byte more. Prints one JSON line:
// the edge's resident memory before and after (and per connection), and Redis's used memory per
// registered device, with and without the nonce-count hashes that expire after the nonce lifetime.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { sleep } from '../shared/testing/wait';
import { env } from './env';
import { digestAnswer } from './sip-ua';

const TRANSPORT = env('IDLE_TRANSPORT'); // tcp | tls
const PORT = Number(env('IDLE_PORT'));
const DOMAIN = env('IDLE_DOMAIN');
const PHONES = Number(env('IDLE_PHONES', '10000'));
const EDGE_PID = Number(env('IDLE_EDGE_PID'));
const REDIS_PORT = Number(env('IDLE_REDIS_PORT'));
const REDIS_PREFIX = env('IDLE_REDIS_PREFIX');
const CONCURRENCY = 100;
const USER_AGENT = 'Yealink SIP-T46U 108.86.0.45'; // 28 characters, as the phone

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const redis = (...args: string[]): string => execFileSync('redis-cli', ['-p', String(REDIS_PORT), ...args], { encoding: 'utf8' });
const usedMemory = (): number => Number(/used_memory:(\d+)/.exec(redis('info', 'memory'))?.[1] ?? NaN);

/** Reads whole SIP responses (no body: every answer a registrar sends here has Content-Length 0). */
function responses(socket: Socket): () => Promise<string> {
  let buffer = '';
  const waiting: ((msg: string) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
      const msg = buffer.slice(0, end + 4);
      buffer = buffer.slice(end + 4);
      waiting.shift()?.(msg);
    }
  });
  return () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
    waiting.push((msg) => { clearTimeout(timer); resolve(msg); });
  });
}

/** One phone: connects, registers with Digest, and keeps the socket (returned). */
async function phone(i: number): Promise<Socket> {
  const user = `u${i}`;
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = TRANSPORT === 'tls'
      ? tlsConnect({ host: '127.0.0.1', port: PORT, rejectUnauthorized: false }, () => resolve(s))
      : tcpConnect({ host: '127.0.0.1', port: PORT }, () => resolve(s));
    s.once('error', reject);
  });
  const next = responses(socket);
  const via = TRANSPORT === 'tls' ? 'TLS' : 'TCP';
  const local = socket.localPort ?? 0;
  const instance = `<urn:uuid:${randomUUID()}>`;
  const callId = `${randomBytes(8).toString('hex')}@idle`;
  const tag = randomBytes(4).toString('hex');
  // Behind NAT: the Contact names the phone's own (public) address, not the connection's source.
  const contact = `<sip:${user}@198.51.100.${1 + (i % 254)}:${5060 + (i % 1000)};transport=${TRANSPORT}>;+sip.instance="${instance}";reg-id=1`;
  const request = (cseq: number, authorization?: string): string => [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/${via} 127.0.0.1:${local};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
    `From: <sip:${user}@${DOMAIN}>;tag=${tag}`,
    `To: <sip:${user}@${DOMAIN}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: ${contact}`,
    'Supported: outbound, path',
    `User-Agent: ${USER_AGENT}`,
    'Expires: 3600',
    'Max-Forwards: 70',
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  socket.write(request(1));
  const challenge = await next();
  const authorization = digestAnswer(challenge, user, `pw${i}`, DOMAIN);
  if (!authorization) throw new Error(`${user}: no challenge: ${challenge.split('\r\n')[0]}`);
  socket.write(request(2, authorization));
  const final = await next();
  if (!final.startsWith('SIP/2.0 200')) throw new Error(`${user}: ${final.split('\r\n')[0]}`);
  return socket;
}

async function main(): Promise<void> {
  await sleep(2000);
  const rss0 = rssKb(EDGE_PID);
  const mem0 = usedMemory();
  const held: Socket[] = [];
  let failed = 0;
  const started = Date.now();
  for (let next = 0; next < PHONES;) {
    const batch = [];
    for (let k = 0; k < CONCURRENCY && next < PHONES; k++, next++) batch.push(phone(next + 1));
    for (const r of await Promise.allSettled(batch)) {
      if (r.status === 'fulfilled') held.push(r.value);
      else if (++failed <= 3) console.error(String(r.reason));
    }
  }
  const openMs = Date.now() - started;
  await sleep(5000); // idle: let the edge's timers and allocations of the set-up settle
  const rss1 = rssKb(EDGE_PID);
  const mem1 = usedMemory();
  const devices = Number(redis('zcard', `${REDIS_PREFIX}exp`).trim());
  // The steady state: a registered device's nonce-count hash expires a nonce lifetime after its
  // last authentication (as in bench/registrar-sweep.sh's memory step).
  const keys = redis('--scan', '--pattern', `${REDIS_PREFIX}{*}:n`).split('\n').filter(Boolean);
  for (let k = 0; k < keys.length; k += 1000) redis('del', ...keys.slice(k, k + 1000));
  const mem2 = usedMemory();
  const sample = redis('--scan', '--pattern', `${REDIS_PREFIX}{*}:b`).split('\n').find(Boolean);
  const sampleBytes = sample ? Number(redis('memory', 'usage', sample).trim()) : NaN;
  const alive = held.filter((s) => !s.destroyed).length;
  console.log(JSON.stringify({
    transport: TRANSPORT,
    phones: PHONES,
    registered: held.length,
    failed,
    open_s: +(openMs / 1000).toFixed(1),
    connections_open_after_idle: alive,
    edge_rss_mb_before: +(rss0 / 1024).toFixed(1),
    edge_rss_mb_after: +(rss1 / 1024).toFixed(1),
    edge_kb_per_connection: held.length ? +((rss1 - rss0) / held.length).toFixed(2) : null,
    redis_devices: devices,
    redis_bytes_per_device: devices ? Math.round((mem1 - mem0) / devices) : null,
    redis_bytes_per_device_steady: devices ? Math.round((mem2 - mem0) / devices) : null,
    redis_bindings_hash_bytes: sampleBytes,
  }));
  for (const s of held) s.destroy();
  if (failed > 0 || alive < held.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
