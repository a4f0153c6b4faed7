import type { Duplex } from 'node:stream';
import Srf from 'drachtio-srf';
import { coalesceWrites } from '../shared/coalesce-writes';
import type { Logger } from '../shared/logger';
import { DRACHTIO_MAX_FRAME_BYTES, FRAME_SAFETY_MARGIN_BYTES } from './constants';
import type { RegistrarMetrics } from './metrics';
import type { Header, InboundRequest, Outcome } from './sip-types';

/**
 * The one file that touches drachtio-srf. It connects to the engine (edge/ or
 * drachtio-server), routes REGISTER and OPTIONS to the handlers, and turns their
 * outcomes into responses — never sending a frame drachtio-server could not
 * read (see DRACHTIO_MAX_FRAME_BYTES).
 *
 * drachtio-srf 5.0.29's typings lack register()/options() and the request
 * fields the engine fills in, so the parts used are described here.
 */

/** What drachtio-srf's Request gives us (lib/request.js, lib/sip-parser/message.js). */
interface SrfRequest {
  method: string;
  uri: string;
  /** Header names in the parsed message: lower-cased, `Call-ID`/`Content-Length` special-cased, X- kept as sent. */
  headers: Record<string, string>;
  source_address: string;
  source_port: number;
  protocol: string;
  receivedOn?: string;
  stackTxnId: string;
}

/** What drachtio-srf's Response gives us (lib/response.js). */
interface SrfResponse {
  send(status: number, reason: string, opts: { headers: Record<string, string> }): void;
}

type SrfHandler = (req: SrfRequest, res: SrfResponse) => void;

/** The part of drachtio-srf's Srf used here, including what its typings omit. */
interface SrfApp {
  /** `createSocket` comes from this project's patch of drachtio-srf (patches/): used instead of net.connect, on every (re)connection. */
  connect(opts: { host: string; port: number; secret: string; reconnect?: { retryMaxDelay?: number }; createSocket?: () => Duplex }): void;
  register(handler: SrfHandler): void;
  options(handler: SrfHandler): void;
  on(event: 'connect', fn: (err: Error | null, hostport?: string) => void): void;
  on(event: 'close' | 'error' | 'reconnecting', fn: (arg?: unknown) => void): void;
  removeAllListeners(): void;
  /** Sends `remove_route|<verb>`: the engine stops routing that method here (drachtio-server and edge/ both honour it). */
  unregisterForMessages(verb: string): void;
  /** Srf internals needed for a clean stop (lib/connect.js, drachtio-agent.js, wire-protocol.js). */
  _app: {
    client?: {
      mapServer: Map<{ destroy(): void; cork(): void; uncork(): void; write: (...args: never[]) => boolean }, unknown>;
      wp?: {
        closing?: boolean;
        socket?: { destroy(): void };
        reconnectVars?: { retryTimer: ReturnType<typeof setTimeout> | null };
        mapTimerPing?: Map<unknown, ReturnType<typeof setInterval>>;
      };
    };
  };
}

export interface EngineConnection {
  host: string;
  port: number;
  secret: string;
  /**
   * An engine in the same process (embedded/): returns a new connected duplex stream for each
   * (re)connection, and host/port only name it in logs.
   */
  createSocket?: () => Duplex;
}

export interface AdapterHandlers {
  register(req: InboundRequest): Promise<Outcome>;
  options(req: InboundRequest): Promise<Outcome>;
  /** Called with the latency of each REGISTER, seconds. */
  onRegisterDone?(seconds: number): void;
  /** Asked before each request: an answer to send at once instead of handling it (load shedding), or null. */
  overload?(): Outcome | null;
}

/** Longest gap between reconnection attempts to the engine, ms. */
const RECONNECT_MAX_DELAY_MS = 2_000;

/** Fixed part of a response frame: `<len>#<uuid>|sip|<txn>|\r\n`, the status line's `SIP/2.0 `, and `Content-Length: 0\r\n\r\n`. */
const FRAME_FIXED_BYTES = 8 + 37 + 6 + 2 + 8 + 2 + 21;

/** The response headers drachtio-srf copies from the request into every response frame (lib/response.js). */
const ECHOED = ['call-id', 'cseq', 'from', 'to'] as const;

/**
 * The request as the handlers see it. Headers are looked up case-insensitively in a
 * map built once: drachtio-srf's own `get` lists and lower-cases every header name on
 * each call (lib/sip-parser/message.js), and a REGISTER reads a dozen headers. Its
 * parser has already expanded compact forms, so the stored names are full names.
 */
function toInbound(req: SrfRequest): InboundRequest {
  const byName = new Map<string, string>();
  for (const key in req.headers) byName.set(key.toLowerCase(), req.headers[key]!);
  return {
    method: req.method,
    uri: req.uri,
    header: (name) => byName.get(name.toLowerCase()),
    sourceAddress: req.source_address,
    sourcePort: req.source_port,
    transport: req.protocol,
    receivedOn: req.receivedOn ?? '',
  };
}

/**
 * Bytes of the frame drachtio-srf would write for this response. Header text is
 * measured as UTF-8, as the wire protocol writes it: a request's invalid bytes
 * arrive as U+FFFD and cost three bytes each when echoed.
 */
function responseFrameBytes(
  req: SrfRequest,
  header: InboundRequest['header'],
  status: number,
  reason: string,
  headers: Record<string, string>,
): number {
  let n = FRAME_FIXED_BYTES + Buffer.byteLength(req.stackTxnId ?? '') + String(status).length + Buffer.byteLength(reason);
  for (const name of ECHOED) {
    const v = header(name);
    if (v !== undefined) n += name.length + 4 + Buffer.byteLength(v);
  }
  for (const [name, value] of Object.entries(headers)) n += name.length + 4 + Buffer.byteLength(value);
  return n;
}

/** Folds the outcome's headers into drachtio-srf's header object; a repeated header becomes separate lines. */
function headerObject(headers: readonly Header[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    // drachtio-srf would join a repeated name with ','; WWW-Authenticate challenges must stay one per line (RFC 3261 §25).
    out[name] = name in out ? `${out[name]}\r\n${name}: ${value}` : value;
  }
  return out;
}

export class DrachtioAdapter {
  private readonly srf: SrfApp;
  private isConnected = false;
  private stopped = false;
  /** Requests received and not answered (or dropped) yet. */
  private inFlight = 0;
  private draining = false;

  constructor(
    private readonly engine: EngineConnection,
    private readonly handlers: AdapterHandlers,
    private readonly metrics: RegistrarMetrics,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    // drachtio-srf's typings omit register()/options() and internals: SrfApp describes what is used.
    this.srf = new Srf() as unknown as SrfApp;
    this.srf.register((req, res) => this.dispatch('REGISTER', req, res));
    this.srf.options((req, res) => this.dispatch('OPTIONS', req, res));
    this.srf.on('connect', (err, hostport) => {
      if (this.stopped) {
        this.destroySockets();
        return;
      }
      if (err) {
        this.log.error({ err: err.message, host: engine.host, port: engine.port }, 'engine refused the registrar (check DRACHTIO_SECRET)');
        return;
      }
      // Responses of one event-loop turn share one socket write (drachtio-srf writes each on its own).
      for (const socket of this.srf._app.client?.mapServer.keys() ?? []) coalesceWrites(socket);
      this.isConnected = true;
      this.log.info({ host: engine.host, port: engine.port, sip: hostport }, 'connected to the SIP engine');
    });
    this.srf.on('close', () => {
      if (this.isConnected) this.log.warn({ host: engine.host, port: engine.port }, 'lost the SIP engine connection; reconnecting');
      this.isConnected = false;
    });
    this.srf.on('error', (err) => {
      this.log.debug({ err: (err as Error | undefined)?.message }, 'engine connection error');
    });
    this.srf.on('reconnecting', () => undefined);
  }

  /** Starts connecting (and reconnecting forever, backing off to 2 s). Readiness shows in {@link connected}. */
  connect(): void {
    const { host, port, secret, createSocket } = this.engine;
    this.srf.connect({ host, port, secret, reconnect: { retryMaxDelay: RECONNECT_MAX_DELAY_MS }, ...(createSocket ? { createSocket } : {}) });
  }

  get connected(): boolean {
    return this.isConnected && !this.stopped;
  }

  /** Requests being handled now. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Stops taking new work without failing any: asks the engine to route REGISTER and OPTIONS
   * elsewhere (`remove_route`), then waits until the requests it had already sent are
   * answered: none in flight and at least `settleMs` since the request (frames already on
   * the wire still arrive), or `timeoutMs` at most. Returns what was still in flight.
   */
  async drain(timeoutMs: number, settleMs = 250): Promise<number> {
    if (!this.draining && this.isConnected) {
      this.draining = true;
      for (const verb of ['register', 'options']) {
        try {
          this.srf.unregisterForMessages(verb);
        } catch (err) {
          this.log.warn({ err: (err as Error).message, verb }, 'could not remove a route');
        }
      }
    }
    const started = Date.now();
    while (Date.now() - started < timeoutMs && (this.inFlight > 0 || Date.now() - started < settleMs)) await new Promise((r) => setTimeout(r, 10));
    return this.inFlight;
  }

  private dispatch(method: 'REGISTER' | 'OPTIONS', req: SrfRequest, res: SrfResponse): void {
    const shed = this.handlers.overload?.();
    if (shed) {
      this.answer(method, req, toInbound(req), res, shed);
      return;
    }
    this.inFlight++;
    const started = this.now();
    const inbound = toInbound(req);
    const handler = method === 'REGISTER' ? this.handlers.register(inbound) : this.handlers.options(inbound);
    handler
      .then((outcome) => this.answer(method, req, inbound, res, outcome))
      .catch((err: Error) => {
        this.log.error({ err: err.message, method }, 'handler failed');
        this.answer(method, req, inbound, res, { kind: 'reply', status: 500, reason: 'Server Internal Error', headers: [] });
      })
      .finally(() => {
        this.inFlight--;
        if (method === 'REGISTER') this.handlers.onRegisterDone?.((this.now() - started) / 1000);
      });
  }

  private answer(method: string, req: SrfRequest, inbound: InboundRequest, res: SrfResponse, outcome: Outcome): void {
    if (this.stopped) return;
    if (outcome.kind === 'drop') {
      this.metrics.dropped.inc({ reason: outcome.reason });
      return;
    }
    const headers = headerObject(outcome.headers);
    const bytes = responseFrameBytes(req, inbound.header, outcome.status, outcome.reason, headers);
    if (bytes > DRACHTIO_MAX_FRAME_BYTES - FRAME_SAFETY_MARGIN_BYTES) {
      // drachtio-server would never finish reading this frame and stop answering everyone (docs/registrar.md).
      this.metrics.dropped.inc({ reason: 'oversized_response' });
      this.log.warn({ source: req.source_address, status: outcome.status, bytes }, 'request dropped: its response would exceed the engine frame limit');
      return;
    }
    try {
      res.send(outcome.status, outcome.reason, { headers });
      this.metrics.responses.inc({ method, status: String(outcome.status) });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not send the response');
    }
  }

  /** Disconnects and stops reconnecting. Safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.isConnected = false;
    const client = this.srf._app.client;
    const wp = client?.wp;
    if (wp) {
      wp.closing = true; // tells drachtio-srf's wire protocol not to reconnect
      if (wp.reconnectVars?.retryTimer) {
        clearTimeout(wp.reconnectVars.retryTimer);
        wp.reconnectVars.retryTimer = null;
      }
      for (const t of wp.mapTimerPing?.values() ?? []) clearInterval(t);
      wp.mapTimerPing?.clear();
    }
    this.destroySockets();
  }

  private destroySockets(): void {
    const client = this.srf._app.client;
    for (const socket of client?.mapServer.keys() ?? []) socket.destroy();
    client?.wp?.socket?.destroy();
  }
}
