/**
 * The trivial drachtio-srf app of bench/edge-register.sh: answers every
 * REGISTER with 200 OK. Connects to DRACHTIO_HOST:DRACHTIO_PORT with DRACHTIO_SECRET.
 * With BENCH_APP_CHALLENGE=1 (bench/registrar-sweep.sh's BENCH_APP=trivial) it answers a
 * REGISTER without Authorization 401 with a Digest challenge and one with it 200, checking
 * nothing: the SIP engine's share of a full registration, with no registrar work.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Srf = require('drachtio-srf');

interface Res {
  send(status: number, opts?: object): void;
}
interface Req {
  has(name: string): boolean;
  get(name: string): string;
}
const challenge = process.env.BENCH_APP_CHALLENGE === '1';
const realm = process.env.SIP_DEFAULT_DOMAIN ?? 'bench.example';
let nonceCounter = 0;

const srf = new Srf();
srf.connect({
  host: process.env.DRACHTIO_HOST ?? '127.0.0.1',
  port: Number(process.env.DRACHTIO_PORT ?? 9022),
  secret: process.env.DRACHTIO_SECRET,
});
srf.on('connect', (err: unknown, hostport: string) => {
  if (err) {
    console.error('bench app: connect failed', err);
    process.exit(1);
  }
  console.log(`bench app connected: ${hostport}`);
});
srf.on('error', (err: Error) => console.error('bench app:', err.message));
srf.register((req: Req, res: Res) => {
  if (!challenge) return res.send(200, { headers: { Expires: '3600' } });
  if (!req.has('Authorization')) {
    const nonce = `${Date.now().toString(16)}${(nonceCounter++).toString(16)}`;
    return res.send(401, { headers: { 'WWW-Authenticate': `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5` } });
  }
  res.send(200, { headers: { Contact: `${req.get('Contact')};expires=3600` } });
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
