/**
 * Header field names: RFC 3261 §7.3.3 compact forms and the canonical spelling
 * we write in responses. Names are case-insensitive (RFC 3261 §7.3.1).
 */

/** RFC 3261 §7.3.3 and §20 (plus RFC 3841/3903/4028/3515 registrations): compact form → full name, lower case. */
const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  u: 'allow-events',
  x: 'session-expires',
  j: 'reject-contact',
  a: 'accept-contact',
  d: 'request-disposition',
  y: 'identity',
};

/** Spellings that the "capitalise each word" rule gets wrong. */
const SPECIAL_CASING: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  'min-se': 'Min-SE',
  'p-asserted-identity': 'P-Asserted-Identity',
  'p-preferred-identity': 'P-Preferred-Identity',
  'identity-info': 'Identity-Info',
};

/** Returns the full lower-case name of a header as written on the wire (compact forms expanded). */
export function headerKey(wireName: string): string {
  const lower = wireName.toLowerCase();
  if (lower.length === 1) return COMPACT_FORMS[lower] ?? lower;
  return lower;
}

const canonicalCache = new Map<string, string>();

/** Standard casing of a header key, e.g. `www-authenticate` → `WWW-Authenticate`. */
export function canonicalName(key: string): string {
  const special = SPECIAL_CASING[key];
  if (special) return special;
  let cached = canonicalCache.get(key);
  if (cached === undefined) {
    cached = key
      .split('-')
      .map((w) => (w.length ? w[0]!.toUpperCase() + w.slice(1) : w))
      .join('-');
    // Bounded: header names come from apps and from the wire; do not grow without limit.
    if (canonicalCache.size < 1024) canonicalCache.set(key, cached);
  }
  return cached;
}
