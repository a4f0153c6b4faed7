// Latency probe for bench/registrar-sweep.sh: while SIPp loads the registrar, this
// client performs full digest registrations (REGISTER, 401, REGISTER, 200) of one
// device at a low fixed rate and times each with a monotonic clock, because SIPp's
// response times move in steps of the kernel's timer tick (4 ms here).
//
// Usage: node dist/bench/latency-probe.js <sipPort> <user> <password> <domain> <seconds> [ratePerSecond] [single]
// With `single`, each sample is one REGISTER answered by any final response (an app that never challenges).
// Prints one line: "probe n=<count> lost=<count> p50_ms=<x> p90_ms=<x> p99_ms=<y> max_ms=<z> over_10ms_pct=<share of samples over 10 ms>".
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [portArg, user, password, domain, secondsArg, rateArg, mode] = process.argv.slice(2);
if (!portArg || !user || !password || !domain || !secondsArg) {
  console.error('usage: latency-probe <sipPort> <user> <password> <domain> <seconds> [rate]');
  process.exit(2);
}
const port = Number(portArg);
const seconds = Number(secondsArg);
const rate = Number(rateArg ?? 50);
/** PROBE_SAMPLES_FILE: also write each sample as "<start, ms since epoch> <latency ms | lost>". */
const samplesFile = process.env.PROBE_SAMPLES_FILE;
const samples: string[] = [];
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

const socket = createSocket('udp4');
let pending: ((msg: string) => void) | null = null;
socket.on('message', (buf) => pending?.(buf.toString('latin1')));

function request(cseq: number, callId: string, authorization?: string): string {
  const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
  const { port: localPort } = socket.address();
  return [
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=${branch};rport`,
    `From: <sip:${user}@${domain}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:${user}@${domain}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${localPort}>`,
    'Expires: 3600',
    'Max-Forwards: 70',
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Sends and waits for the response to it (1 s at most: a loss, not a retransmission). */
function exchange(text: string): Promise<string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending = null;
      resolve(null);
    }, 1000);
    pending = (msg) => {
      clearTimeout(timer);
      pending = null;
      resolve(msg);
    };
    socket.send(text, port, '127.0.0.1');
  });
}

function authorizationFor(challenge: string): string | null {
  const header = /^WWW-Authenticate: (Digest .*)$/im.exec(challenge)?.[1];
  if (!header) return null;
  const param = (name: string): string | undefined => new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1];
  const realm = param('realm') ?? domain!;
  const nonce = param('nonce');
  const opaque = param('opaque');
  if (!nonce) return null;
  const uri = `sip:${domain}`;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const ha1 = md5(`${user}:${realm}:${password}`);
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"${opaque ? `, opaque="${opaque}"` : ''}`;
}

async function registerOnce(): Promise<number | null> {
  const callId = `${randomBytes(8).toString('hex')}@probe`;
  const started = process.hrtime.bigint();
  const challenge = await exchange(request(1, callId));
  if (mode === 'single') return challenge ? Number(process.hrtime.bigint() - started) / 1e6 : null;
  if (!challenge?.startsWith('SIP/2.0 401')) return null;
  const authorization = authorizationFor(challenge);
  if (!authorization) return null;
  const final = await exchange(request(2, callId, authorization));
  if (!final?.startsWith('SIP/2.0 200')) return null;
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const times: number[] = [];
  let lost = 0;
  const interval = 1000 / rate;
  const end = Date.now() + seconds * 1000;
  for (let next = Date.now(); Date.now() < end; ) {
    const startedAt = Date.now();
    const ms = await registerOnce();
    if (ms === null) lost++;
    else times.push(ms);
    if (samplesFile) samples.push(`${startedAt} ${ms ?? 'lost'}`);
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  socket.close();
  if (samplesFile) writeFileSync(samplesFile, samples.join('\n') + '\n');
  times.sort((a, b) => a - b);
  const at = (q: number): string => (times.length ? times[Math.min(times.length - 1, Math.floor(times.length * q))]!.toFixed(2) : 'NA');
  const over10 = times.length ? ((times.filter((t) => t > 10).length / times.length) * 100).toFixed(2) : 'NA';
  console.log(
    `probe n=${times.length} lost=${lost} p50_ms=${at(0.5)} p90_ms=${at(0.9)} p99_ms=${at(0.99)} max_ms=${times.length ? times[times.length - 1]!.toFixed(2) : 'NA'} over_10ms_pct=${over10}`,
  );
}

void main();
