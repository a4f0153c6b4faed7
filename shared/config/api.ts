import { isIP } from 'node:net';
import { z } from 'zod';
import { CredentialCipher } from '../credentials';
import { bool, defineSection, port, positiveInt, nonNegativeInt, str } from './env';

/** `k1:<base64 32 bytes>,k2:<base64 32 bytes>`, checked by the keyring itself (unique ids, 32-byte keys). */
const credentialKeys = z.string().refine(
  (v) => {
    try {
      CredentialCipher.fromConfig(v);
      return true;
    } catch {
      return false;
    }
  },
  'must be a comma-separated list of <id>:<base64 of 32 bytes> with unique ids',
);

/**
 * Which proxies' X-Forwarded-For to believe: a hop count, or a comma-separated
 * list of addresses, CIDR ranges and `loopback`/`linklocal`/`uniquelocal`.
 * Never "everything": a client could then claim any address.
 */
export const trustProxy = z
  .string()
  .refine(
    (v) =>
      /^\d{1,2}$/.test(v.trim()) ||
      v.split(',').every((part) => {
        const t = part.trim();
        if (['loopback', 'linklocal', 'uniquelocal'].includes(t)) return true;
        const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(t);
        const family = m ? isIP(m[1]!) : 0;
        return family !== 0 && (m![2] === undefined || Number(m![2]) <= (family === 4 ? 32 : 128));
      }),
    'must be a hop count, or a comma-separated list of addresses, CIDR ranges, loopback, linklocal or uniquelocal',
  )
  .transform((v): number | string[] => (/^\d{1,2}$/.test(v.trim()) ? Number(v.trim()) : v.split(',').map((p) => p.trim())));

/** The device management API (api/). */
export const apiSection = defineSection('API', {
  API_HOST: { schema: str, default: '0.0.0.0', doc: 'Address the API listens on.' },
  API_PORT: { schema: port, default: '3000', doc: 'API HTTP port.' },
  ADMIN_API_KEY: { schema: z.string().min(24, 'must be at least 24 characters'), secret: true, doc: 'When set, a valid platform-wide operator key (for scripts driving a fresh stack).' },
  API_KEY_CACHE_TTL_MS: { schema: nonNegativeInt, default: '10000', doc: 'How long a successful API key verification (argon2id) is cached in process, keyed by the SHA-256 of the presented key. A revoked key stops working on other API processes within this time (at once on the process that revoked it). 0 disables the cache.' },
  API_KEY_CACHE_MAX: { schema: positiveInt, default: '10000', doc: 'Maximum number of cached API key verifications per process (oldest dropped first).' },
  API_BODY_LIMIT_BYTES: { schema: positiveInt, default: '65536', doc: 'Largest accepted request body; larger bodies get 413.' },
  API_AUTH_FAILURE_LIMIT: { schema: nonNegativeInt, default: '20', doc: 'Failed API key verifications per client address and window after which that address gets 429 (with Retry-After) until the window ends, without any database lookup or argon2id run. Keys this process already verified keep working from that address. Counted in process (per API process). 0 disables the limit.' },
  API_AUTH_FAILURE_WINDOW_S: { schema: positiveInt, default: '60', doc: 'Length of the API_AUTH_FAILURE_LIMIT window in seconds; an address\'s window starts at its first failure.' },
  API_ARGON2_MAX_CONCURRENCY: { schema: positiveInt, default: '4', doc: 'Most API key verifications (database lookup and argon2id) running at once per process, so a flood of unknown keys cannot occupy the libuv threadpool (default size 4).' },
  API_ARGON2_MAX_QUEUE: { schema: nonNegativeInt, default: '100', doc: 'Most API key verifications waiting for one of the API_ARGON2_MAX_CONCURRENCY slots; beyond that a request gets 503 with Retry-After.' },
  API_TRUST_PROXY: { schema: trustProxy, doc: 'Proxies whose X-Forwarded-For gives the client address (for API_AUTH_FAILURE_LIMIT): a hop count, or a comma-separated list of addresses, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`. Unset: the socket address (set it behind a load balancer, or every client shares its address).' },
  CREDENTIAL_KEYS: { schema: credentialKeys, secret: true, doc: 'AES-256-GCM keys that encrypt SIP passwords, provisioning passwords and tokens, and webhook secrets at rest (read by the API and the provisioning server): `id:<base64 of 32 bytes>`, comma-separated. Keep old ids listed after a rotation so existing passwords still decrypt. Unset: a generated key in DATA_DIR/credential-key (development only, with a warning).' },
  CREDENTIAL_ACTIVE_KEY_ID: { schema: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a key id listed in CREDENTIAL_KEYS'), doc: 'Id of the CREDENTIAL_KEYS entry new passwords are encrypted with. Unset: the first listed key.' },
  SIP_PUBLIC_HOST: { schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address'), doc: 'SIP server host devices are told to use (credentials endpoint `sipServer`, provisioned files). Unset: the device\'s SIP domain.' },
  SIP_PUBLIC_PORT: { schema: port, default: '5060', doc: 'SIP server port devices are told to use (credentials endpoint `sipPort`, provisioned files).' },
  SIP_OUTBOUND_PROXY: { schema: z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be host or host:port'), doc: 'Outbound proxy devices are told to use (credentials endpoint `outboundProxy`; provisioned files enable an outbound proxy only when one is set here or on the account, or when the SIP server is not the SIP domain). Unset: `<sipServer>:<sipPort>`.' },
  SIP_TRANSPORT: { schema: z.enum(['UDP', 'TCP', 'TLS']), default: 'UDP', doc: 'Transport devices are told to use (credentials endpoint `transportProtocol`, provisioned files): UDP, TCP or TLS.' },
  API_METRICS_HOST: { schema: str, default: '127.0.0.1', doc: 'Address of the API metrics listener (GET /metrics, Prometheus text); kept off the public API port.' },
  API_METRICS_PORT: { schema: port, default: '9093', doc: 'Port of the API metrics listener.' },
  API_STREAM_TOKEN_SECRET: { schema: z.string().min(32, 'must be at least 32 characters'), secret: true, doc: 'HMAC key of event-stream tokens (`POST …/events/stream-tokens`); every API process of a deployment must share it. Unset: a generated one in DATA_DIR/stream-token-secret (development only).' },
  API_STREAM_TOKEN_TTL_S: { schema: positiveInt.max(3600), default: '300', doc: 'How long an event-stream token can be used to open a stream, seconds (an open stream lasts while the key that minted the token is valid).' },
  API_SSE_HEARTBEAT_S: { schema: positiveInt, default: '15', doc: 'Seconds between heartbeat comments on open event streams; also how often their keys are re-checked (a revoked key\'s streams close).' },
  API_SSE_MAX_CLIENTS: { schema: positiveInt, default: '1000', doc: 'Open event streams per API process at most; beyond, 503 with Retry-After.' },
  API_SSE_MAX_PER_ACCOUNT: { schema: positiveInt, default: '50', doc: 'Open event streams of one account per API process at most (so one tenant cannot take every slot); beyond, 503 with Retry-After.' },
  EVENT_RETENTION_DAYS: { schema: positiveInt, default: '30', doc: 'Days events (registration outcomes and the audit log) and finished webhook deliveries are kept. Each API process drops older day partitions at start and hourly.' },
  DEVICE_TOMBSTONE_RETENTION_DAYS: { schema: positiveInt, default: '30', doc: 'Days a deleted device\'s SIP identity and HA1 values are kept (device_tombstones) so the registrar answers its phone 403 instead of challenging it and counting failures. Older tombstones are purged by each API process at start and then hourly; after that the phone is an unknown user again.' },
});

/** Webhook delivery (run by every API process). */
export const webhooksSection = defineSection('Webhooks (API)', {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: { schema: bool, default: 'false', doc: 'Allow webhook URLs that resolve to loopback or private addresses (self-hosted receivers, tests). Link-local and cloud metadata addresses (169.254.0.0/16, fd00:ec2::254) are refused whatever this says. Checked when a webhook is saved and again at every delivery, on the address connected to.' },
  WEBHOOK_TIMEOUT_MS: { schema: positiveInt, default: '10000', doc: 'Longest one delivery attempt may take (connection and answer), ms.' },
  WEBHOOK_CONCURRENCY: { schema: positiveInt, default: '4', doc: 'Attempts of one webhook in flight at once across all API processes (1 while the webhook is failing).' },
  WEBHOOK_MAX_IN_FLIGHT: { schema: positiveInt, default: '32', doc: 'Delivery attempts in flight per API process.' },
  WEBHOOK_RETRY_BASE_MS: { schema: positiveInt, default: '10000', doc: 'First retry delay, ms; each further retry waits twice as long (with jitter: between half and all of it), up to WEBHOOK_RETRY_MAX_DELAY_MS.' },
  WEBHOOK_RETRY_MAX_DELAY_MS: { schema: positiveInt, default: '3600000', doc: 'Longest wait between two attempts of one delivery, ms.' },
  WEBHOOK_RETRY_FOR_S: { schema: positiveInt, default: '86400', doc: 'How long a delivery is retried before it is marked failed, seconds.' },
  WEBHOOK_DISABLE_AFTER_DAYS: { schema: positiveInt, default: '3', doc: 'A webhook whose every attempt failed for this many days is disabled (with a `webhook.disabled` event); PATCH `enabled: true` turns it back on.' },
  WEBHOOK_SECRET_ROTATION_GRACE_S: { schema: positiveInt, default: '86400', doc: 'After a secret rotation, how long deliveries are also signed with the previous secret, seconds.' },
  WEBHOOK_MAX_PER_ACCOUNT: { schema: positiveInt, default: '20', doc: 'Webhooks one account may have.' },
  WEBHOOK_POLL_MS: { schema: positiveInt, default: '1000', doc: 'How often each API process looks for due deliveries and undispatched events without being woken, ms.' },
});
