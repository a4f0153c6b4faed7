/**
 * The trivial drachtio-srf app of bench/edge-register.sh: answers every
 * REGISTER with 200 OK. Connects to DRACHTIO_HOST:DRACHTIO_PORT with DRACHTIO_SECRET.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Srf = require('drachtio-srf');

interface Res {
  send(status: number, opts?: object): void;
}

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
srf.register((_req: unknown, res: Res) => res.send(200, { headers: { Expires: '3600' } }));
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
