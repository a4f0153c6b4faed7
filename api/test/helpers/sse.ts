import { request, IncomingMessage, ClientRequest } from 'node:http';

/** One Server-Sent Event as a client sees it. */
export interface SseMessage {
  id: string | undefined;
  /** `data` parsed as JSON. */
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary event fields
}

/**
 * A minimal EventSource over a real HTTP connection: collects messages and
 * comments (heartbeats) as they arrive, and tells when the server closed the stream.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  /** The last `id` the server sent, with or without data (what EventSource would send back as Last-Event-ID). */
  lastId: string | undefined;
  raw = '';
  status = 0;
  contentType: string | undefined;
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];

  private constructor(private readonly req: ClientRequest) {}

  /** Opens `url`; resolves once the response head arrived (any status). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } });
      const client = new SseClient(req);
      req.on('response', (res: IncomingMessage) => {
        client.status = res.statusCode ?? 0;
        client.contentType = res.headers['content-type'];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('end', () => client.finish());
        res.on('close', () => client.finish());
        resolve(client);
      });
      req.on('error', (err) => {
        client.finish();
        reject(err);
      });
      req.end();
    });
  }

  private feed(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments++;
        else if (line.startsWith('id: ')) id = this.lastId = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) this.messages.push({ id, data: JSON.parse(data.join('\n')) });
    }
    this.notify();
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `done()` holds (checked on every arrival), or fails after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE: timed out waiting for ${what}; got ${this.messages.length} messages: ${this.raw.slice(-500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first message whose event matches, waiting for it. */
  async next(match: (data: SseMessage['data']) => boolean, timeoutMs = 5000, what = 'a matching event'): Promise<SseMessage> {
    await this.until(() => this.messages.some((m) => match(m.data)), timeoutMs, what);
    return this.messages.find((m) => match(m.data))!;
  }

  close(): void {
    this.req.destroy();
  }
}
