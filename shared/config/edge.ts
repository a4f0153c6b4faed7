import { z } from 'zod';
import { defineSection, port, str } from './env';

/** The SIP edge (edge/): SIP listeners and the drachtio control listener. */
export const edgeSection = defineSection('Edge (SIP engine)', {
  SIP_BIND: { schema: str, default: '0.0.0.0', doc: 'Address the SIP listeners bind to (`::` for IPv4 and IPv6).' },
  SIP_PORT: { schema: port, default: '5060', doc: 'SIP port for UDP and TCP.' },
  SIP_TLS_PORT: { schema: port, default: '5061', doc: 'SIP over TLS port; TLS listens only when SIP_TLS_CERT and SIP_TLS_KEY are set.' },
  SIP_TLS_CERT: { schema: z.string(), doc: 'Path of the TLS certificate chain (PEM).' },
  SIP_TLS_KEY: { schema: z.string(), doc: 'Path of the TLS private key (PEM).' },
});
