import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks v1 signatures (https://www.standardwebhooks.com/): each
 * delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>`
 * over `${id}.${timestamp}.${body}`. A secret is `whsec_` + base64 of the key
 * bytes, so receivers can use any Standard Webhooks library.
 */

const SECRET_PREFIX = 'whsec_';
const SECRET_KEY_BYTES = 32;
/** Standard base64 (padded), as the specification writes keys and signatures. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** Strictly decoded base64 (Buffer.from ignores stray characters), or null. */
function decodeBase64(text: string): Buffer | null {
  return text !== '' && BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/** The key bytes of a `whsec_` secret, or null when it is not one. */
function secretKey(secret: string): Buffer | null {
  return secret.startsWith(SECRET_PREFIX) ? decodeBase64(secret.slice(SECRET_PREFIX.length)) : null;
}

function hmac(key: Buffer, msgId: string, timestamp: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`).digest();
}

/**
 * The `webhook-signature` value: one `v1,` entry per secret, in the order
 * given (the current secret first; during a rotation the previous one too, so
 * receivers still holding it keep verifying). Throws RangeError when there is
 * no secret, a secret is not a `whsec_` one, or the timestamp is not whole
 * seconds: those are bugs of the caller, not of the receiver.
 */
export function signatureHeader(secrets: readonly string[], msgId: string, timestampS: number, body: string): string {
  if (secrets.length === 0) throw new RangeError('at least one webhook secret is needed to sign');
  if (!Number.isSafeInteger(timestampS) || timestampS < 0) throw new RangeError('webhook timestamp must be whole Unix seconds');
  return secrets
    .map((secret) => {
      const key = secretKey(secret);
      // The message names no secret: it could end up in a log.
      if (!key) throw new RangeError('a webhook secret is not of the form whsec_<base64>');
      return `v1,${hmac(key, msgId, String(timestampS), body).toString('base64')}`;
    })
    .join(' ');
}

/** The headers of one delivery: the three Standard Webhooks headers and `content-type: application/json`. */
export function webhookHeaders(secrets: readonly string[], msgId: string, timestampS: number, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': signatureHeader(secrets, msgId, timestampS, body),
  };
}

/**
 * What a receiver does with a delivery: true when every header is present,
 * the timestamp is within `toleranceS` of `nowS` either way (an old one is a
 * replay, one far ahead a forgery or a broken clock), and some `v1` entry
 * matches (compared in constant time). `body` must be the raw body as
 * received, not re-serialised JSON. Never throws: a malformed secret or
 * header gives false.
 */
export function verifyWebhook(
  secret: string,
  headers: { id?: string; timestamp?: string; signature?: string },
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return false;
  // Written as "not within" so that a NaN clock or tolerance refuses instead of passing.
  if (!/^\d{1,15}$/.test(timestamp) || !(Math.abs(nowS - Number(timestamp)) <= toleranceS)) return false;
  const key = secretKey(secret);
  if (!key) return false;
  const expected = hmac(key, id, timestamp, body);
  return signature.split(' ').some((entry) => {
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== 'v1') return false;
    const given = decodeBase64(entry.slice(comma + 1));
    return given !== null && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
