import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from '../webhooks/http-delivery';
import { webhookHeaders } from '../webhooks/signature';
import type { LookupAll } from '../webhooks/target-guard';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP server on 127.0.0.1 that records what reaches it. */
interface Receiver {
  readonly port: number;
  readonly url: string;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  readonly requests: Received[];
}

const servers: ReturnType<typeof createServer>[] = [];

/** Starts a receiver; `answer` is called once the request body has arrived. */
async function receiver(answer: (res: ServerResponse, req: IncomingMessage) => void): Promise<Receiver> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = { port, url: `http://127.0.0.1:${port}/hooks/sip?tenant=1`, connections: 0, requests: [] };
  server.on('connection', () => r.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res, req);
    });
  });
  return r;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const BODY = JSON.stringify({ type: 'device.registered', data: { deviceId: 'dev_1', note: 'é ✓' } });
const HEADERS = webhookHeaders([SECRET], 'msg_1', 1_700_000_000, BODY);
const OPTS = { timeoutMs: 2000, allowPrivate: true };

/** A port nothing listens on (it was just closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('a webhook is POSTed to the receiver the account configured', () => {
  it('delivers body and signed headers intact, and a 2xx answer counts as delivered', async () => {
    const r = await receiver((res) => res.writeHead(200).end('thanks'));
    const result = await postWebhook(r.url, BODY, HEADERS, OPTS);
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(r.requests).toHaveLength(1);
    const [got] = r.requests;
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe('/hooks/sip?tenant=1');
    expect(got?.body).toBe(BODY);
    expect(got?.headers).toMatchObject({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': HEADERS['webhook-signature'],
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
      'user-agent': 'sipreg-webhooks/1',
    });
  });

  it('sends the user agent it is given, whatever the headers said', async () => {
    const r = await receiver((res) => res.writeHead(204).end());
    const result = await postWebhook(r.url, BODY, { ...HEADERS, 'User-Agent': 'spoofed' }, { ...OPTS, userAgent: 'sipreg-webhooks/test' });
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(r.requests[0]?.headers['user-agent']).toBe('sipreg-webhooks/test');
  });

  it('reports a 500 as a failure with its status', async () => {
    const r = await receiver((res) => res.writeHead(500).end('boom'));
    expect(await postWebhook(r.url, BODY, HEADERS, OPTS)).toMatchObject({ ok: false, status: 500, error: 'HTTP 500' });
  });

  it('does not follow a redirect: the Location target receives nothing', async () => {
    const elsewhere = await receiver((res) => res.writeHead(200).end());
    const r = await receiver((res) => res.writeHead(301, { location: elsewhere.url }).end());
    expect(await postWebhook(r.url, BODY, HEADERS, OPTS)).toMatchObject({ ok: false, status: 301, error: 'redirect not followed (HTTP 301)' });
    expect(elsewhere.connections).toBe(0);
  });

  it('gives up on a receiver that never answers after the timeout', async () => {
    const r = await receiver(() => undefined);
    const result = await postWebhook(r.url, BODY, HEADERS, { ...OPTS, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, status: null, error: 'timed out after 300 ms' });
    expect(r.requests).toHaveLength(1);
  });

  it('bounds the whole exchange, name resolution included, by the timeout', async () => {
    const never: LookupAll = () => new Promise(() => undefined);
    const result = await postWebhook('http://receiver.example/hooks', BODY, HEADERS, { ...OPTS, timeoutMs: 300, lookup: never });
    expect(result).toMatchObject({ ok: false, status: null, error: 'timed out after 300 ms' });
  });

  it('counts the status of a receiver that answers 200 but never finishes its body', async () => {
    const r = await receiver((res) => res.writeHead(200, { 'content-length': '1000' }).write('partial'));
    expect(await postWebhook(r.url, BODY, HEADERS, { ...OPTS, timeoutMs: 300 })).toMatchObject({ ok: true, status: 200, error: null });
  });

  it('stops reading a huge answer and still returns its status', async () => {
    let closedEarly: boolean | undefined;
    const r = await receiver((res) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = 1600; // 100 MB: more than it could buffer, if it read it all
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (closedEarly = left > 0));
      res.writeHead(503);
      pump();
    });
    const result = await postWebhook(r.url, BODY, HEADERS, { ...OPTS, maxResponseBytes: 1024 });
    expect(result).toMatchObject({ ok: false, status: 503, error: 'HTTP 503' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closedEarly).toBe(true);
  });
});

describe('a webhook never reaches an address it may not reach', () => {
  it('refuses 127.0.0.1 when private targets are not allowed, without connecting', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    const result = await postWebhook(r.url, BODY, HEADERS, { ...OPTS, allowPrivate: false });
    expect(result).toMatchObject({
      ok: false,
      status: null,
      error: 'webhook target 127.0.0.1 is a loopback address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow loopback and private targets',
    });
    expect(r.connections).toBe(0);
  });

  it('checks localhost where it resolves at delivery: refused without the setting, delivered with it', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    const url = `http://localhost:${r.port}/hooks`;
    const refused = await postWebhook(url, BODY, HEADERS, { ...OPTS, allowPrivate: false });
    expect(refused).toMatchObject({ ok: false, status: null });
    expect(refused.error).toMatch(/^webhook target localhost resolves to .*, a loopback address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true/);
    expect(r.connections).toBe(0);
    expect(await postWebhook(url, BODY, HEADERS, OPTS)).toMatchObject({ ok: true, status: 200 });
    expect(r.connections).toBe(1);
  });

  it('connects to the address the lookup gives at delivery, and refuses it once the name rebinds to loopback', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    const asked: string[] = [];
    let answer = '127.0.0.1';
    const lookup: LookupAll = async (hostname) => {
      asked.push(hostname);
      return [{ address: answer, family: 4 }];
    };
    const url = `http://receiver.example:${r.port}/hooks`;
    expect(await postWebhook(url, BODY, HEADERS, { ...OPTS, lookup })).toMatchObject({ ok: true, status: 200 });
    expect(r.requests[0]?.headers.host).toBe(`receiver.example:${r.port}`);
    answer = '169.254.169.254';
    expect(await postWebhook(url, BODY, HEADERS, { ...OPTS, lookup })).toMatchObject({
      ok: false,
      status: null,
      error:
        'webhook target receiver.example resolves to 169.254.169.254, a cloud metadata service address; metadata targets are never allowed, whatever WEBHOOK_ALLOW_PRIVATE_TARGETS says',
    });
    answer = '127.0.0.1';
    expect(await postWebhook(url, BODY, HEADERS, { ...OPTS, allowPrivate: false, lookup })).toMatchObject({ ok: false, status: null });
    expect(asked).toEqual(['receiver.example', 'receiver.example', 'receiver.example']);
    expect(r.connections).toBe(1);
  });

  it('refuses URLs that are not webhook URLs without connecting', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    expect(await postWebhook('not a url', BODY, HEADERS, OPTS)).toMatchObject({ ok: false, status: null, error: expect.stringContaining('not a valid') });
    expect(await postWebhook(`ftp://127.0.0.1:${r.port}/`, BODY, HEADERS, OPTS)).toMatchObject({ ok: false, error: expect.stringContaining('ftp:') });
    const withPassword = await postWebhook(`http://u:hunter2@127.0.0.1:${r.port}/`, BODY, HEADERS, OPTS);
    expect(withPassword).toMatchObject({ ok: false, status: null });
    expect(withPassword.error).not.toContain('hunter2');
    expect(r.connections).toBe(0);
  });
});

describe('every other failure is a result, never an exception', () => {
  it('reports a refused connection', async () => {
    const port = await closedPort();
    const result = await postWebhook(`http://127.0.0.1:${port}/`, BODY, HEADERS, OPTS);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('reports a name that does not resolve', async () => {
    // A resolver that fails as getaddrinfo does for an unknown name (no DNS query leaves the machine).
    const lookup = async (): Promise<never> => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND no-such-host.invalid'), { code: 'ENOTFOUND' });
    };
    const result = await postWebhook('http://no-such-host.invalid/', BODY, HEADERS, { ...OPTS, lookup });
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toMatch(/ENOTFOUND/);
  });

  it('reports a TLS failure (https to a plain HTTP server) without the body or the signature', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    const result = await postWebhook(`https://127.0.0.1:${r.port}/`, BODY, HEADERS, OPTS);
    expect(result).toMatchObject({ ok: false, status: null });
    // The reason is OpenSSL's ("wrong version number" with OpenSSL 3).
    expect(result.error).toMatch(/^TLS failed: [a-z ]+ \(EPROTO\)$/);
    expect(result.error).not.toContain(BODY);
    expect(result.error).not.toContain(HEADERS['webhook-signature']);
  });

  it('reports a header node refuses to send, without connecting', async () => {
    const r = await receiver((res) => res.writeHead(200).end());
    const result = await postWebhook(r.url, BODY, { ...HEADERS, 'x-bad': 'a\r\nInjected: yes' }, OPTS);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toContain('ERR_INVALID_CHAR');
    expect(r.connections).toBe(0);
  });
});
