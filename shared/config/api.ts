import { z } from 'zod';
import { defineSection, port, positiveInt, nonNegativeInt, str } from './env';

/** `k1:<base64 32 bytes>,k2:<base64 32 bytes>`: every key id must be unique and every key exactly 32 bytes. */
const credentialKeys = z.string().refine(
  (v) => {
    const ids = new Set<string>();
    for (const part of v.split(',')) {
      const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/_=-]+)$/.exec(part.trim());
      if (!m || ids.has(m[1]!) || Buffer.from(m[2]!, 'base64').length !== 32) return false;
      ids.add(m[1]!);
    }
    return ids.size > 0;
  },
  'must be a comma-separated list of <id>:<base64 of 32 bytes> with unique ids',
);

/** The device management API (api/). */
export const apiSection = defineSection('API', {
  API_HOST: { schema: str, default: '0.0.0.0', doc: 'Address the API listens on.' },
  API_PORT: { schema: port, default: '3000', doc: 'API HTTP port.' },
  ADMIN_API_KEY: { schema: z.string().min(24, 'must be at least 24 characters'), secret: true, doc: 'When set, a valid platform-wide operator key (for scripts driving a fresh stack).' },
  API_KEY_CACHE_TTL_MS: { schema: nonNegativeInt, default: '10000', doc: 'How long a successful API key verification (argon2id) is cached in process, keyed by the SHA-256 of the presented key. A revoked key stops working on other API processes within this time (at once on the process that revoked it). 0 disables the cache.' },
  API_KEY_CACHE_MAX: { schema: positiveInt, default: '10000', doc: 'Maximum number of cached API key verifications per process (oldest dropped first).' },
  API_BODY_LIMIT_BYTES: { schema: positiveInt, default: '65536', doc: 'Largest accepted request body; larger bodies get 413.' },
  CREDENTIAL_KEYS: { schema: credentialKeys, secret: true, doc: 'AES-256-GCM keys that encrypt SIP passwords at rest: `id:<base64 of 32 bytes>`, comma-separated. Keep old ids listed after a rotation so existing passwords still decrypt. Unset: a generated key in DATA_DIR/credential-key (development only, with a warning).' },
  CREDENTIAL_ACTIVE_KEY_ID: { schema: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a key id listed in CREDENTIAL_KEYS'), doc: 'Id of the CREDENTIAL_KEYS entry new passwords are encrypted with. Unset: the first listed key.' },
  SIP_PUBLIC_HOST: { schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address'), doc: 'SIP server host devices are told to use (credentials endpoint `sipServer`). Unset: the device\'s SIP domain.' },
  SIP_PUBLIC_PORT: { schema: port, default: '5060', doc: 'SIP server port devices are told to use (credentials endpoint `sipPort`).' },
  SIP_OUTBOUND_PROXY: { schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be host or host:port'), doc: 'Outbound proxy devices are told to use (credentials endpoint `outboundProxy`). Unset: `<sipServer>:<sipPort>`.' },
  SIP_TRANSPORT: { schema: z.enum(['UDP', 'TCP', 'TLS']), default: 'UDP', doc: 'Transport devices are told to use (credentials endpoint `transportProtocol`): UDP, TCP or TLS.' },
});
