import { z } from 'zod';
import { defineSection, logLevel, port, positiveInt, str } from './env';

/** The SIP edge (edge/): SIP listeners, their limits, and the metrics listener. Defaults match edge/options.ts DEFAULT_LIMITS. */
export const edgeSection = defineSection('Edge (SIP engine)', {
  SIP_BIND: { schema: str, default: '0.0.0.0', doc: 'Address the SIP listeners bind to (`::` for IPv4 and IPv6).' },
  SIP_PORT: { schema: port, default: '5060', doc: 'SIP port for UDP and TCP.' },
  SIP_TLS_PORT: { schema: port, default: '5061', doc: 'SIP over TLS port; TLS listens only when SIP_TLS_CERT and SIP_TLS_KEY are set.' },
  SIP_TLS_CERT: { schema: z.string(), doc: 'Path of the TLS certificate chain (PEM).' },
  SIP_TLS_KEY: { schema: z.string(), doc: 'Path of the TLS private key (PEM).' },
  SIP_MAX_MESSAGE_BYTES: { schema: positiveInt.max(65535), default: '16384', doc: 'Largest SIP message accepted (head and body); larger ones get 513 or are dropped, and a stream sending one is closed.' },
  SIP_MAX_HEADERS: { schema: positiveInt, default: '128', doc: 'Most header lines in one SIP message (400 beyond).' },
  SIP_MAX_LINE_BYTES: { schema: positiveInt, default: '8192', doc: 'Longest start line or header line (folded headers counted whole).' },
  SIP_MAX_CONNECTIONS: { schema: positiveInt, default: '10000', doc: 'Open SIP connections at most, per stream listener (TCP, TLS).' },
  SIP_MAX_CONNECTIONS_PER_SOURCE: { schema: positiveInt, default: '256', doc: 'Open SIP connections at most from one source address, per stream listener.' },
  SIP_IDLE_TIMEOUT: { schema: positiveInt, default: '600', doc: 'Seconds without traffic after which a TCP/TLS connection is closed (clients keep it with RFC 5626 CRLF pings).' },
  SIP_MESSAGE_TIMEOUT: { schema: positiveInt, default: '30', doc: 'Seconds a TCP/TLS connection may hold part of one SIP message, however slowly the rest arrives; then it is closed.' },
  SIP_MAX_TRANSACTIONS: { schema: positiveInt, default: '500000', doc: 'Server transactions held at most; beyond, new requests get a stateless 503.' },
  SIP_MAX_UNANSWERED_PER_SOURCE: { schema: positiveInt, doc: 'Server transactions awaiting their answer from one source address at most; beyond, its new requests are dropped (UDP) or answered 503 (TCP, TLS). Unset: an eighth of SIP_MAX_TRANSACTIONS.' },
  EDGE_METRICS_HOST: { schema: str, default: '127.0.0.1', doc: 'Address of the edge metrics HTTP listener (GET /metrics, Prometheus text).' },
  EDGE_METRICS_PORT: { schema: port, default: '9092', doc: 'Port of the edge metrics HTTP listener.' },
  EDGE_CONTROL_MAX_FRAME_BYTES: { schema: positiveInt, default: '16777216', doc: 'Largest drachtio control frame accepted from an authenticated app; a larger one closes its connection.' },
  EDGE_CONTROL_MAX_BACKLOG_BYTES: { schema: positiveInt, default: '33554432', doc: 'Bytes of frames waiting for an app that does not read its control connection, past which the app is dropped (what it held is answered 503).' },
  EDGE_LOG_LEVEL: { schema: logLevel, doc: 'Log level of the edge; unset: LOG_LEVEL. At info the edge logs one line per SIP transaction, at debug one per message.' },
});
