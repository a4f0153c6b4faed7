/** The edge's metric families, in one place so that names and help texts stay consistent. */
import { methodLabel, MetricsRegistry } from './metrics';
import type { TransportName } from '../transport/address';

/** Counters the edge updates; gauges are read from the components at scrape time. */
export interface EdgeMetrics {
  readonly registry: MetricsRegistry;
  received(transport: TransportName, method: string): void;
  sent(transport: TransportName, method: string, status: number): void;
  parseError(transport: TransportName): void;
  retransmissionAbsorbed(transport: TransportName): void;
  dropped(reason: string): void;
  connectionRejected(transport: TransportName, reason: string): void;
  controlFrame(type: string): void;
}

/** Where the gauges read their values. */
export interface GaugeSources {
  openConnections(transport: 'tcp' | 'tls'): number;
  connectedApps(): number;
  activeTransactions(): number;
}

/** Creates the registry. `sources` may be filled in after the components exist. */
export function createEdgeMetrics(sources: () => GaugeSources | undefined): EdgeMetrics {
  const r = new MetricsRegistry();
  const received = r.counter('edge_sip_messages_received_total', 'SIP messages received, by transport and method (responses: method="response").', ['transport', 'method']);
  const sent = r.counter('edge_sip_messages_sent_total', 'SIP responses sent, by transport, request method and status (retransmissions included).', ['transport', 'method', 'status']);
  const parseErrors = r.counter('edge_sip_parse_errors_total', 'SIP messages or streams that could not be parsed, by transport.', ['transport']);
  const absorbed = r.counter('edge_sip_retransmissions_absorbed_total', 'Request retransmissions absorbed by a server transaction without a response.', ['transport']);
  const dropped = r.counter('edge_sip_dropped_total', 'SIP messages dropped without an answer, by reason.', ['reason']);
  const rejected = r.counter('edge_sip_connections_rejected_total', 'Stream connections refused or closed by the edge, by transport and reason.', ['transport', 'reason']);
  const frames = r.counter('edge_control_frames_received_total', 'Control protocol frames received from apps, by type.', ['type']);
  r.gauge('edge_sip_connections_open', 'Open SIP stream connections.', ['transport'], () => {
    const s = sources();
    return s ? [[['tcp'], s.openConnections('tcp')], [['tls'], s.openConnections('tls')]] : [];
  });
  r.gauge('edge_control_apps_connected', 'Authenticated drachtio apps connected.', [], () => [[[], sources()?.connectedApps() ?? 0]]);
  r.gauge('edge_sip_transactions_active', 'Server transactions currently held.', [], () => [[[], sources()?.activeTransactions() ?? 0]]);
  return {
    registry: r,
    received: (transport, method) => received(transport, method === 'response' ? method : methodLabel(method)),
    sent: (transport, method, status) => sent(transport, methodLabel(method), String(status)),
    parseError: (transport) => parseErrors(transport),
    retransmissionAbsorbed: (transport) => absorbed(transport),
    dropped: (reason) => dropped(reason),
    connectionRejected: (transport, reason) => rejected(transport, reason),
    controlFrame: (type) => frames(type),
  };
}
