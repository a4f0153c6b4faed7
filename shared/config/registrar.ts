import { z } from 'zod';
import { bool, defineSection, nonNegativeInt, port, positiveInt, str } from './env';

/** The registrar (registrar/). Durations are in seconds where SIP speaks seconds, else in milliseconds. */
export const registrarSection = defineSection('Registrar', {
  REGISTRAR_HTTP_HOST: { schema: str, default: '127.0.0.1', doc: 'Address of the registrar health and metrics HTTP server.' },
  REGISTRAR_HTTP_PORT: { schema: port, default: '9091', doc: 'Port of the registrar health and metrics HTTP server.' },
  REGISTRAR_EXTRA_ENGINES: {
    schema: z
      .string()
      .regex(/^\s*[A-Za-z0-9.:[\]-]+:\d{1,5}\s*(,\s*[A-Za-z0-9.:[\]-]+:\d{1,5}\s*)*$/, 'must be host:port[,host:port…]')
      .transform((v) => v.split(',').map((x) => x.trim())),
    doc: 'More SIP engines (edge/ or drachtio-server control ports, `host:port,…`, same DRACHTIO_SECRET) this registrar connects to besides DRACHTIO_HOST:DRACHTIO_PORT. It serves each and is ready while one is connected. Unset: only that one.',
  },
  REGISTRAR_SHUTDOWN_TIMEOUT_S: { schema: positiveInt.max(300), default: '10', doc: 'On SIGTERM the registrar asks the engine to route REGISTER and OPTIONS elsewhere, answers the requests in flight, and exits; this is the longest it waits for them, seconds.' },
  REGISTRAR_MIN_EXPIRES: { schema: positiveInt, default: '60', doc: 'Shortest registration accepted, seconds (RFC 3261 §10.3 step 7): a shorter non-zero expiry gets 423 Interval Too Brief with Min-Expires (only below 3600, as the RFC allows).' },
  REGISTRAR_DEFAULT_EXPIRES: { schema: positiveInt, default: '3600', doc: 'Expiry given to a contact with neither an `expires` parameter nor an Expires header, seconds.' },
  REGISTRAR_MAX_EXPIRES: { schema: positiveInt, default: '7200', doc: 'Longest registration granted, seconds; longer requests are lowered to it.' },
  REGISTRAR_MAX_BINDINGS: { schema: positiveInt, default: '10', doc: 'Most contacts one device (AOR) may have registered at once.' },
  REGISTRAR_MAX_BINDINGS_POLICY: { schema: z.enum(['drop-oldest', 'reject']), default: 'drop-oldest', doc: 'What happens past REGISTRAR_MAX_BINDINGS: `drop-oldest` removes the bindings first registered longest ago (among those the request does not refresh); `reject` answers 503 Too Many Registered Contacts and changes nothing.' },
  REGISTRAR_NONCE_LIFETIME_S: { schema: positiveInt, default: '300', doc: 'How long a digest nonce is valid, seconds; a correct answer to an older nonce gets a new challenge with stale=true.' },
  REGISTRAR_NONCE_SECRET: { schema: z.string().min(16, 'must be at least 16 characters'), secret: true, doc: 'HMAC key of the stateless digest nonces; every registrar process of a deployment must share it. Unset: a generated one in DATA_DIR/registrar-nonce-secret (development only).' },
  REGISTRAR_MD5_ONLY: { schema: bool, default: 'false', doc: 'Offer only the MD5 digest challenge (some old phones fail on two challenges). Default: SHA-256 then MD5.' },
  REGISTRAR_BLOCK_WINDOW_S: { schema: positiveInt, default: '60', doc: 'Window in which failed authentications are counted, seconds.' },
  REGISTRAR_BLOCK_SOURCE_THRESHOLD: { schema: positiveInt, default: '10', doc: 'Failed authentications from one source address within the window that block that address.' },
  REGISTRAR_BLOCK_USER_THRESHOLD: { schema: positiveInt, default: '20', doc: 'Failed authentications against one username (from any address) within the window past which each further failing address is blocked. The username itself is never locked.' },
  REGISTRAR_BLOCK_DURATION_S: { schema: positiveInt, default: '900', doc: 'How long a source address stays blocked, seconds.' },
  REGISTRAR_BLOCKED_RESPONSE: { schema: z.enum(['drop', '403']), default: 'drop', doc: 'What a blocked source gets: `drop` (no answer at all) or `403` (Forbidden, never a challenge).' },
  REGISTRAR_CREDENTIAL_CACHE_TTL_MS: { schema: nonNegativeInt, default: '60000', doc: 'Age after which cached device credentials are re-read from PostgreSQL, in the background: the cached ones keep answering meanwhile, so no REGISTER waits for it. The API\'s invalidations drop entries at once; this only bounds how long a missed invalidation goes unnoticed. While PostgreSQL is down, older entries keep being served.' },
  REGISTRAR_CREDENTIAL_NEGATIVE_TTL_MS: { schema: nonNegativeInt, default: '5000', doc: 'How long "no such device" is remembered (spares PostgreSQL from scanners guessing usernames).' },
  REGISTRAR_CREDENTIAL_CACHE_MAX: { schema: positiveInt, default: '200000', doc: 'Most cached credential entries per process (oldest dropped first).' },
  REGISTRAR_DOMAIN_REFRESH_MS: { schema: positiveInt, default: '10000', doc: 'How often the set of served SIP domains (accounts, devices, SIP_DEFAULT_DOMAIN) is re-read from PostgreSQL; an unknown domain triggers at most one extra read per second.' },
  REGISTRAR_REAPER_INTERVAL_MS: { schema: positiveInt, default: '1000', doc: 'How often expired bindings are reaped (and `expired` events written).' },
  REGISTRAR_MAX_IN_FLIGHT: { schema: positiveInt, default: '256', doc: 'Requests a registrar handles at once; beyond, a new one is answered 503 with a jittered Retry-After at once (load shedding in a re-registration storm).' },
  REGISTRAR_RETRY_AFTER_S: { schema: positiveInt, default: '10', doc: 'Base Retry-After of the 503 answered while Redis or PostgreSQL is unavailable or the registrar sheds load, seconds: each 503 carries a value drawn evenly from [base, 2 × base], so turned-away phones do not come back in lockstep.' },
  REGISTRAR_EVENT_FLUSH_MS: { schema: positiveInt, default: '200', doc: 'Longest an event (registered, auth_failed, …) waits in the registrar before it is written to PostgreSQL, in batches; no REGISTER ever waits for it.' },
  REGISTRAR_EVENT_QUEUE_MAX: { schema: positiveInt, default: '100000', doc: 'Events held in memory while PostgreSQL is slow or down; beyond, new events are dropped and counted in `registrar_events_dropped_total{reason="queue_full"}` (registrations go on).' },
  REGISTRAR_ROUTINE_EVENTS: { schema: z.enum(['changes', 'all']), default: 'changes', doc: '`changes`: a refresh is recorded as a `refreshed` event only when its source address, port, transport or User-Agent changed, and a correct answer to an expired nonce (stale) is not recorded; `all`: every refresh and stale nonce is (at scale most of the volume).' },
  REGISTRAR_UNATTRIBUTED_EVENTS_PER_S: { schema: nonNegativeInt, default: '50', doc: 'Events that belong to no account (unknown users and domains, malformed requests: operators see them at GET /v2/sip-events) recorded per second at most by each registrar; beyond, they are only counted (`registrar_events_dropped_total{reason="rate_limited"}`), so a scanner cannot flood the event store.' },
  REGISTRAR_SCANNER_USER_AGENTS: { schema: str, default: 'friendly-scanner,sipvicious,sipcli,sip-scan,sipsak,sundayddr,iwar,vaxsipuseragent,smap,pplsip,voipscanner', doc: 'Comma-separated, case-insensitive User-Agent fragments of SIP scanners; their requests are dropped unanswered.' },
});
