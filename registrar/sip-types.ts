/**
 * The registrar's view of SIP traffic, independent of drachtio-srf: the adapter
 * turns an engine request into an {@link InboundRequest} and an {@link Outcome}
 * back into a response (or nothing).
 */

export interface InboundRequest {
  method: string;
  /** Request-URI as sent. */
  uri: string;
  /** A header's value (repeated headers joined with ','), looked up case-insensitively, or undefined. */
  header(name: string): string | undefined;
  sourceAddress: string;
  sourcePort: number;
  /** udp, tcp, tls, ws, wss. */
  transport: string;
  /** Local `ip:port` the request arrived on. */
  receivedOn: string;
}

export type Header = readonly [name: string, value: string];

export type Outcome =
  | { kind: 'reply'; status: number; reason: string; headers: Header[] }
  /** Send nothing (scanners, blocked sources); `reason` labels the metric and the log line. */
  | { kind: 'drop'; reason: string };

export function reply(status: number, reason: string, headers: Header[] = []): Outcome {
  return { kind: 'reply', status, reason, headers };
}
