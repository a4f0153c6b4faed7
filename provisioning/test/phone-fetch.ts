import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * A configuration fetch as a phone's provisioning client makes it: GET of the file
 * name with the phone's User-Agent; on a 401 with a Digest challenge, once more with
 * an MD5 `qop=auth` answer (or Basic, when asked to). Plain node:http, so the headers
 * are exactly those given (no browser or fetch defaults). For tests.
 */

export interface FetchReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface PhoneFetchOptions {
  userAgent?: string;
  username?: string;
  password?: string;
  /** 'digest' (default): answer the challenge; 'basic': send Basic at once; 'none': no credentials. */
  auth?: 'digest' | 'basic' | 'none';
  /** Self-signed server certificate to trust (HTTPS). */
  ca?: string;
  method?: 'GET' | 'HEAD';
}

export function rawGet(url: string, headers: Record<string, string>, opts: { ca?: string; method?: string } = {}): Promise<FetchReply> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, ca: opts.ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The parameters of the first Digest challenge of a 401, or null. */
export function digestChallenge(reply: FetchReply): Record<string, string> | null {
  const raw = reply.headers['www-authenticate'];
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const digest = values.find((v) => /^Digest\s/i.test(v));
  if (!digest) return null;
  const params: Record<string, string> = {};
  for (const m of digest.slice(7).matchAll(/([a-z0-9-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/gi)) params[m[1]!.toLowerCase()] = m[2] ?? m[3]!;
  return params;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** The Authorization header answering `challenge` for `uri`. */
export function digestAuthorization(challenge: Record<string, string>, username: string, password: string, method: string, uri: string, nc = 1): string {
  const cnonce = randomBytes(8).toString('hex');
  const ncHex = nc.toString(16).padStart(8, '0');
  const ha1 = md5(`${username}:${challenge.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const response = md5(`${ha1}:${challenge.nonce}:${ncHex}:${cnonce}:auth:${ha2}`);
  const parts = [
    `username="${username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    'algorithm=MD5',
    `response="${response}"`,
    'qop=auth',
    `nc=${ncHex}`,
    `cnonce="${cnonce}"`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}

/** Fetches `url` as a phone would; the reply of the last request is returned (the 401 when no answer was made). */
export async function phoneFetch(url: string, opts: PhoneFetchOptions = {}): Promise<FetchReply & { challenged: FetchReply | null }> {
  const headers: Record<string, string> = { Accept: '*/*', Connection: 'close' };
  if (opts.userAgent !== undefined) headers['User-Agent'] = opts.userAgent;
  const method = opts.method ?? 'GET';
  const auth = opts.auth ?? 'digest';
  if (auth === 'basic') {
    headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    return { ...(await rawGet(url, headers, { ca: opts.ca, method })), challenged: null };
  }
  const first = await rawGet(url, headers, { ca: opts.ca, method });
  if (first.status !== 401 || auth === 'none') return { ...first, challenged: null };
  const challenge = digestChallenge(first);
  if (!challenge) return { ...first, challenged: null };
  const u = new URL(url);
  headers.Authorization = digestAuthorization(challenge, opts.username ?? '', opts.password ?? '', method, `${u.pathname}${u.search}`);
  return { ...(await rawGet(url, headers, { ca: opts.ca, method })), challenged: first };
}
