/** Options of `startEdge` and their documented defaults. */
import type { Logger } from 'pino';

/** Bounds that keep hostile traffic from costing unbounded memory or time. */
export interface EdgeLimits {
  /** Largest SIP message accepted, head and body (RFC 3261 §18.1.1 513 beyond it). Default 16384. */
  readonly maxMessageBytes: number;
  /** Most header lines in one message. Default 128. */
  readonly maxHeaders: number;
  /** Longest start or header line (folded headers counted whole). Default 8192. */
  readonly maxLineBytes: number;
  /** Open TCP plus TLS connections, each listener. Default 10000. */
  readonly maxConnections: number;
  /** Open connections from one source address, each listener (NATed offices share one). Default 256. */
  readonly maxConnectionsPerSource: number;
  /** A TCP/TLS connection with no traffic for this long is closed. Default 600000 (10 min). */
  readonly idleTimeoutMs: number;
  /**
   * A TCP/TLS connection that holds part of a message for this long, however slowly more of
   * that message comes, is closed. Default 30000 (30 s).
   */
  readonly messageTimeoutMs: number;
  /** Server transactions held at most; new requests beyond get a stateless 503. Default 500000 (Timer J keeps 32 s of UDP transactions: ~15,000 requests/s). */
  readonly maxTransactions: number;
  /**
   * Server transactions awaiting their answer from one source address at most; beyond, its
   * new requests are dropped (UDP) or answered 503 (TCP, TLS). Default: an eighth of maxTransactions.
   */
  readonly maxUnansweredPerSource?: number;
  /** Largest control frame accepted from an authenticated app. Default 16 MiB. */
  readonly maxControlFrameBytes: number;
  /**
   * Frames queued for an app that does not read them, in bytes, past which its connection is
   * dropped (its transactions then get 503). Default 32 MiB: seconds of full load.
   */
  readonly maxControlBacklogBytes: number;
}

/** The defaults of every limit. */
export const DEFAULT_LIMITS: EdgeLimits = Object.freeze({
  maxMessageBytes: 16_384,
  maxHeaders: 128,
  maxLineBytes: 8_192,
  maxConnections: 10_000,
  maxConnectionsPerSource: 256,
  idleTimeoutMs: 600_000,
  messageTimeoutMs: 30_000,
  maxTransactions: 500_000,
  maxControlFrameBytes: 16 * 1024 * 1024,
  maxControlBacklogBytes: 32 * 1024 * 1024,
});

/** TLS material: PEM text, or the path of a PEM file. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Everything `startEdge` accepts. Ports may be 0 (any free port). */
export interface EdgeOptions {
  /** Address of the SIP listeners; `::` for IPv4 and IPv6. Default `0.0.0.0`. */
  readonly sipAddress?: string;
  /** UDP and TCP port (the same number for both). Default 5060. */
  readonly sipPort?: number;
  /** TLS port, used only when `tls` is given. Default 5061. */
  readonly tlsPort?: number;
  /** Certificate and key of the SIP TLS listener; without them there is no TLS listener. */
  readonly tls?: TlsMaterial;
  /** Control listener address. Default `127.0.0.1`. */
  readonly controlAddress?: string;
  /** Control listener port. Default 9022. */
  readonly controlPort?: number;
  /** Shared secret apps authenticate with. Required. */
  readonly secret: string;
  /** Certificate and key to run the control listener over TLS. */
  readonly controlTls?: TlsMaterial;
  /** Metrics HTTP address. Default `127.0.0.1`. */
  readonly metricsAddress?: string;
  /** Metrics HTTP port; `null` disables the metrics listener. Default 9092. */
  readonly metricsPort?: number | null;
  /** Logger; default silent. */
  readonly logger?: Logger;
  readonly limits?: Partial<EdgeLimits>;
  /** Server version reported to apps; drachtio-srf pings servers of v0.8.2 or later. Default `v0.9.4`. */
  readonly version?: string;
}
