import { z } from 'zod';
import { trustProxy } from './api';
import { defineSection, nonNegativeInt, port, positiveInt, str } from './env';

/** The provisioning server (provisioning/), and what the API tells admins about it. */
export const provisioningSection = defineSection('Provisioning', {
  PROVISIONING_HOST: { schema: str, default: '0.0.0.0', doc: 'Address the provisioning server listens on.' },
  PROVISIONING_PORT: { schema: port, default: '8088', doc: 'Port of the provisioning server (HTTP, or HTTPS when PROVISIONING_TLS_CERT and PROVISIONING_TLS_KEY are set).' },
  PROVISIONING_METRICS_HOST: { schema: str, default: '127.0.0.1', doc: 'Address of the provisioning server\'s metrics listener (GET /metrics, Prometheus text).' },
  PROVISIONING_METRICS_PORT: { schema: port, default: '9094', doc: 'Port of the provisioning server\'s metrics listener.' },
  PROVISIONING_TLS_CERT: { schema: str, doc: 'PEM certificate (chain) file: the provisioning server speaks HTTPS. In production serve phones over HTTPS, here or behind a TLS proxy (docs/provisioning.md).' },
  PROVISIONING_TLS_KEY: { schema: str, doc: 'PEM private key file of PROVISIONING_TLS_CERT.' },
  PROVISIONING_PUBLIC_URL: { schema: z.string().url().regex(/^https?:\/\/[^?#]+$/, 'must be an http(s) URL without query or fragment').transform((v) => v.replace(/\/+$/, '')), doc: 'The URL phones are pointed at (DHCP option 66), as the API shows it in the credentials route and previews. Unset: http(s)://<SIP_PUBLIC_HOST, else 127.0.0.1>:<PROVISIONING_PORT>.' },
  PROVISIONING_REALM: { schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores'), default: 'provisioning', doc: 'Digest realm of the provisioning credentials.' },
  PROVISIONING_NONCE_SECRET: { schema: z.string().min(32, 'must be at least 32 characters'), secret: true, doc: 'HMAC key of the provisioning server\'s Digest nonces; every provisioning process of a deployment must share it. Unset: a generated one in DATA_DIR/provisioning-nonce-secret (development only).' },
  PROVISIONING_NONCE_LIFETIME_S: { schema: positiveInt.max(3600), default: '120', doc: 'How long a Digest nonce of the provisioning server is accepted, seconds (each nonce-count once).' },
  PROVISIONING_TRUST_PROXY: { schema: trustProxy, doc: 'Proxies whose X-Forwarded-For and X-Forwarded-Proto to believe (the source address for rate limits and events; HTTPS for Basic authentication behind a TLS proxy): a hop count, or addresses, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`. Unset: the socket.' },
  PROVISIONING_FAILURE_LIMIT: { schema: nonNegativeInt, default: '10', doc: 'Failed authentications (wrong password, unknown username, unknown path token) from one source address within PROVISIONING_FAILURE_WINDOW_S after which the address is blocked for PROVISIONING_BLOCK_S (answered 429 without a lookup). Counted in Redis across processes. 0 disables.' },
  PROVISIONING_FAILURE_WINDOW_S: { schema: positiveInt, default: '60', doc: 'Window of PROVISIONING_FAILURE_LIMIT, seconds.' },
  PROVISIONING_BLOCK_S: { schema: positiveInt, default: '900', doc: 'How long a source address stays blocked, seconds.' },
});
