// A minimal SIP UA for the benchmarks' probes: one UDP socket, full digest registrations
// (REGISTER, 401, REGISTER with MD5 qop=auth) of one user, timed with a monotonic clock.
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export interface ProbeUa {
  /** A full registration (or, with `single`, one REGISTER answered by any final response); ms to the 200, null when lost or refused. */
  register(opts?: { expires?: number; single?: boolean }): Promise<number | null>;
  close(): void;
}

export async function createUa(port: number, user: string, password: string, domain: string): Promise<ProbeUa> {
  const socket = createSocket('udp4');
  let pending: ((msg: string) => void) | null = null;
  socket.on('message', (buf) => pending?.(buf.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const localPort = socket.address().port;

  const request = (cseq: number, callId: string, expires: number, authorization?: string): string =>
    [
      `REGISTER sip:${domain} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
      `From: <sip:${user}@${domain}>;tag=${randomBytes(4).toString('hex')}`,
      `To: <sip:${user}@${domain}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${user}@127.0.0.1:${localPort}>`,
      `Expires: ${expires}`,
      'Max-Forwards: 70',
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');

  /** Sends and waits for the response to it (1 s at most: a loss, not a retransmission). */
  const exchange = (text: string): Promise<string | null> =>
    new Promise((resolve) => {
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

  return {
    async register(opts = {}) {
      const expires = opts.expires ?? 3600;
      const callId = `${randomBytes(8).toString('hex')}@probe`;
      const started = process.hrtime.bigint();
      const challenge = await exchange(request(1, callId, expires));
      if (opts.single) return challenge ? Number(process.hrtime.bigint() - started) / 1e6 : null;
      if (!challenge?.startsWith('SIP/2.0 401')) return null;
      const authorization = digestAnswer(challenge, user, password, domain);
      if (!authorization) return null;
      const final = await exchange(request(2, callId, expires, authorization));
      if (!final?.startsWith('SIP/2.0 200')) return null;
      return Number(process.hrtime.bigint() - started) / 1e6;
    },
    close: () => socket.close(),
  };
}

/**
 * The Authorization answering the Digest challenge of a 401 (its full text): MD5, qop=auth,
 * nonce-count 1, as SIPp and desk phones answer. Null when the response carries no challenge.
 */
export function digestAnswer(response: string, user: string, password: string, domain: string): string | null {
  const header = /^WWW-Authenticate: (Digest .*)$/im.exec(response)?.[1];
  if (!header) return null;
  const param = (name: string): string | undefined => new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1];
  const realm = param('realm') ?? domain;
  const nonce = param('nonce');
  const opaque = param('opaque');
  if (!nonce) return null;
  const uri = `sip:${domain}`;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const answer = md5(`${md5(`${user}:${realm}:${password}`)}:${nonce}:${nc}:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${answer}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"${opaque ? `, opaque="${opaque}"` : ''}`;
}

/** `p50=… p99=…` style quantiles of sorted samples (ms, two decimals), NA when empty. */
export function quantile(sorted: readonly number[], q: number): string {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2) : 'NA';
}
