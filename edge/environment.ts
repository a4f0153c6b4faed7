/**
 * The edge's options from the environment (edge/main.ts, and embedded/main.ts which runs the
 * edge and the registrar in one process). Throws ConfigError on a bad setting.
 */
import type { Logger } from 'pino';
import { commonSection } from '../shared/config/common';
import { drachtioSection } from '../shared/config/drachtio';
import { edgeSection } from '../shared/config/edge';
import { parseSection } from '../shared/config/env';
import { secretOrLocal } from '../shared/local-secrets';
import { createLogger } from '../shared/logger';
import type { EdgeAddresses } from './edge';
import type { EdgeOptions } from './options';

export function edgeFromEnvironment(): { options: EdgeOptions & { secret: string }; log: Logger; controlTls: boolean } {
  const common = parseSection(commonSection);
  const drachtio = parseSection(drachtioSection);
  const edge = parseSection(edgeSection);
  const log = createLogger('edge', edge.EDGE_LOG_LEVEL ?? common.LOG_LEVEL);
  const secret = secretOrLocal(drachtio.DRACHTIO_SECRET, { variable: 'DRACHTIO_SECRET', dataDir: common.DATA_DIR, fileName: 'drachtio-secret', log });
  const tls = edge.SIP_TLS_CERT && edge.SIP_TLS_KEY ? { cert: edge.SIP_TLS_CERT, key: edge.SIP_TLS_KEY } : undefined;
  if ((edge.SIP_TLS_CERT && !edge.SIP_TLS_KEY) || (!edge.SIP_TLS_CERT && edge.SIP_TLS_KEY)) {
    log.warn('SIP_TLS_CERT and SIP_TLS_KEY must both be set for TLS: TLS listener disabled');
  }
  const controlTls =
    drachtio.DRACHTIO_TLS_CERT && drachtio.DRACHTIO_TLS_KEY ? { cert: drachtio.DRACHTIO_TLS_CERT, key: drachtio.DRACHTIO_TLS_KEY } : undefined;
  const options = {
    sipAddress: edge.SIP_BIND,
    sipPort: edge.SIP_PORT,
    tlsPort: edge.SIP_TLS_PORT,
    tls,
    controlAddress: drachtio.DRACHTIO_HOST,
    controlPort: drachtio.DRACHTIO_PORT,
    controlTls,
    secret,
    metricsAddress: edge.EDGE_METRICS_HOST,
    metricsPort: edge.EDGE_METRICS_PORT,
    logger: log,
    limits: {
      maxMessageBytes: edge.SIP_MAX_MESSAGE_BYTES,
      maxHeaders: edge.SIP_MAX_HEADERS,
      maxLineBytes: edge.SIP_MAX_LINE_BYTES,
      maxConnections: edge.SIP_MAX_CONNECTIONS,
      maxConnectionsPerSource: edge.SIP_MAX_CONNECTIONS_PER_SOURCE,
      idleTimeoutMs: edge.SIP_IDLE_TIMEOUT * 1000,
      messageTimeoutMs: edge.SIP_MESSAGE_TIMEOUT * 1000,
      maxTransactions: edge.SIP_MAX_TRANSACTIONS,
      maxUnansweredPerSource: edge.SIP_MAX_UNANSWERED_PER_SOURCE,
      maxControlFrameBytes: edge.EDGE_CONTROL_MAX_FRAME_BYTES,
      maxControlBacklogBytes: edge.EDGE_CONTROL_MAX_BACKLOG_BYTES,
    },
  };
  return { options, log, controlTls: !!controlTls };
}

/** Logs where each listener of a started edge is bound. */
export function logAddresses(log: Logger, a: EdgeAddresses, controlTls: boolean): void {
  log.info({ address: a.udp.address, port: a.udp.port }, 'sip udp listening');
  log.info({ address: a.tcp.address, port: a.tcp.port }, 'sip tcp listening');
  if (a.tls) log.info({ address: a.tls.address, port: a.tls.port }, 'sip tls listening');
  log.info({ address: a.control.address, port: a.control.port, tls: controlTls }, 'drachtio control listening');
  if (a.metrics) log.info({ address: a.metrics.address, port: a.metrics.port }, 'metrics listening');
}
