import { z } from 'zod';
import { defineSection, port, str } from './env';

/** The drachtio control connection: the edge listens on it, the registrar connects to it (edge or drachtio-server). */
export const drachtioSection = defineSection('Drachtio control connection (edge and registrar)', {
  DRACHTIO_HOST: { schema: str, default: '127.0.0.1', doc: 'Control address: where the edge listens and where the registrar connects.' },
  DRACHTIO_PORT: { schema: port, default: '9022', doc: 'Control TCP port.' },
  DRACHTIO_SECRET: { schema: str, secret: true, doc: 'Shared secret of the control connection. Unset: a generated one in DATA_DIR/drachtio-secret (development only).' },
  DRACHTIO_TLS_CERT: { schema: z.string(), doc: 'Edge only: path of a certificate (PEM) to serve the control port over TLS; with DRACHTIO_TLS_KEY.' },
  DRACHTIO_TLS_KEY: { schema: z.string(), doc: 'Edge only: path of the private key (PEM) of the control TLS listener.' },
});
