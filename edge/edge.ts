/**
 * Wires the edge together: SIP listeners (UDP+TCP on one port, TLS on
 * another), the SIP core with its transactions, the drachtio control
 * listener, and the metrics listener.
 */
import { existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from 'pino';
import { AppRouter } from './control/app-router';
import type { AppSession, ControlDelegate, ControlSocket } from './control/app-session';
import { ControlServer } from './control/control-server';
import { createEdgeMetrics } from './metrics/edge-metrics';
import { MetricsServer } from './metrics/metrics-server';
import { DEFAULT_LIMITS, EdgeLimits, EdgeOptions, TlsMaterial } from './options';
import { SipCore } from './sip-core';
import { advertisedAddress, BoundAddress, hostPort } from './transport/address';
import { StreamHandlers, StreamTransport } from './transport/stream-transport';
import { UdpTransport } from './transport/udp-transport';

/** Where each listener is bound. */
export interface EdgeAddresses {
  readonly udp: BoundAddress;
  readonly tcp: BoundAddress;
  readonly tls?: BoundAddress;
  readonly control: BoundAddress;
  readonly metrics?: BoundAddress;
}

/** A running edge. */
export interface Edge {
  readonly addresses: EdgeAddresses;
  /**
   * Takes an app connection that did not come through the control listener: a duplex stream
   * from the same process (embedded/), authenticated like any other.
   */
  acceptApp(socket: ControlSocket): void;
  /** Closes every socket and clears every timer; safe to call twice. */
  stop(): Promise<void>;
}

/** How many times to look for a port number free for both UDP and TCP. */
const SHARED_PORT_ATTEMPTS = 8;
const DEFAULT_VERSION = 'v0.9.4';

function pem(value: string): string | Buffer {
  return value.includes('-----BEGIN') ? value : existsSync(value) ? readFileSync(value) : value;
}

function loadTls(m: TlsMaterial | undefined): { cert: string | Buffer; key: string | Buffer } | undefined {
  return m ? { cert: pem(m.cert), key: pem(m.key) } : undefined;
}

/** Binds UDP, then TCP on the port UDP got; with port 0, retries when TCP finds it taken. */
async function bindShared(
  address: string,
  port: number,
  bindUdp: (port: number) => Promise<UdpTransport>,
  bindTcp: (port: number) => Promise<StreamTransport>,
): Promise<[UdpTransport, StreamTransport]> {
  let lastError: unknown;
  for (let attempt = 0; attempt < SHARED_PORT_ATTEMPTS; attempt++) {
    const udp = await bindUdp(port);
    try {
      return [udp, await bindTcp(udp.address.port)];
    } catch (err) {
      await udp.close();
      lastError = err;
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(`no port free for both UDP and TCP on ${address}`);
}

/** Starts the edge; resolves once every listener is bound. */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  if (!options.secret) throw new Error('startEdge: a control secret is required');
  const log: Logger = options.logger ?? pino({ level: 'silent' });
  const limits: EdgeLimits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  const sipAddress = options.sipAddress ?? '0.0.0.0';
  const advertised = advertisedAddress(sipAddress);
  const version = options.version ?? DEFAULT_VERSION;

  const router = new AppRouter<AppSession>();
  let udp: UdpTransport | undefined;
  let tcp: StreamTransport | undefined;
  let tlsT: StreamTransport | undefined;
  let control: ControlServer | undefined;
  let metricsServer: MetricsServer | undefined;
  const metrics = createEdgeMetrics(() => ({
    openConnections: (t) => (t === 'tcp' ? (tcp?.openConnections ?? 0) : (tlsT?.openConnections ?? 0)),
    connectedApps: () => control?.connectedApps ?? 0,
    activeTransactions: () => core.transactions.size,
  }));
  const core = new SipCore(limits, router, metrics, log);

  const handlers: StreamHandlers = {
    message: (head, body, bytes, conn) => core.message(head, body, undefined, bytes, conn),
    fatal: (reason, head, conn) => core.streamFatal(reason, head, conn),
    rejected: (reason) => metrics.connectionRejected('tcp', reason),
  };
  const tlsHandlers: StreamHandlers = { ...handlers, rejected: (reason) => metrics.connectionRejected('tls', reason) };

  const authFields = (): string[] => {
    const list: string[] = [];
    if (tlsT) list.push(`tls/${hostPort(advertised, tlsT.address.port)}`);
    if (tcp) list.push(`tcp/${hostPort(advertised, tcp.address.port)}`);
    if (udp) list.push(`udp/${hostPort(advertised, udp.address.port)}`);
    const transports = list.join(',');
    return [transports, version, transports];
  };

  const delegate: ControlDelegate = {
    secret: options.secret,
    maxFrameBytes: limits.maxControlFrameBytes,
    maxBacklogBytes: limits.maxControlBacklogBytes,
    authFields,
    route: (app, verb) => router.add(app, verb),
    unroute: (app, verb) => router.remove(app, verb),
    appSip: (app, msgId, txnId, sip) => core.appSip(app, msgId, txnId, sip),
    authenticated: (app) => log.info({ app: app.id, remote: app.remote }, 'app connected'),
    closed: (app) => {
      router.removeTarget(app);
      core.appGone(app);
      if (app.authenticated) log.info({ app: app.id, remote: app.remote }, 'app disconnected');
    },
    frame: (type) => metrics.controlFrame(type),
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all([udp?.close(), tcp?.close(), tlsT?.close(), control?.close(), metricsServer?.close()]);
    core.stop();
  };

  try {
    [udp, tcp] = await bindShared(
      sipAddress,
      options.sipPort ?? 5060,
      (port) => UdpTransport.bind(sipAddress, port, advertised, log, (data, channel) => core.datagram(data, channel)),
      (port) => StreamTransport.listen({ transport: 'tcp', address: sipAddress, port, advertised, limits, handlers, log }),
    );
    const tlsMaterial = loadTls(options.tls);
    if (tlsMaterial) {
      tlsT = await StreamTransport.listen({
        transport: 'tls',
        address: sipAddress,
        port: options.tlsPort ?? 5061,
        advertised,
        tls: tlsMaterial,
        limits,
        handlers: tlsHandlers,
        log,
      });
    }
    control = await ControlServer.listen({
      address: options.controlAddress ?? '127.0.0.1',
      port: options.controlPort ?? 9022,
      tls: loadTls(options.controlTls),
      delegate,
      log,
    });
    if (options.metricsPort !== null) {
      metricsServer = await MetricsServer.listen(options.metricsAddress ?? '127.0.0.1', options.metricsPort ?? 9092, metrics.registry);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    addresses: {
      udp: udp.address,
      tcp: tcp.address,
      ...(tlsT ? { tls: tlsT.address } : {}),
      control: control.address,
      ...(metricsServer ? { metrics: metricsServer.address } : {}),
    },
    acceptApp: (socket) => control.accept(socket),
    stop: () => (stopping ??= stopAll()),
  };
}
