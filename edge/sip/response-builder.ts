/**
 * Builds responses from a server transaction's request (RFC 3261 §8.2.6):
 * Via, From, Call-ID and CSeq are copied byte for byte from the request (the
 * top Via with its received/rport fix-up), the To header gets a tag when it
 * has none, and the remaining headers are written in standard casing.
 */
import { canonicalName } from './header-names';
import { SipHeader } from './message';
import { ReplyableHead, tagOf } from './request';
import { randomToken } from './random-token';

/** RFC 3261 §21 reason phrases for the responses the edge itself sends. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  200: 'OK',
  400: 'Bad Request',
  408: 'Request Timeout',
  481: 'Call/Transaction Does Not Exist',
  487: 'Request Terminated',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  513: 'Message Too Large',
};

/** Headers of the request that a response copies; the app cannot override them. */
const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length']);

/** RFC 3261 §19.3: a To tag with at least 32 bits of randomness. */
export function newTag(): string {
  return randomToken();
}

/** A To value with `;tag=` appended when it has no tag and `tag` is given. */
function toWithTag(to: string, tag: string | undefined): string {
  if (tag === undefined || tagOf(to) !== undefined) return to;
  return `${to};tag=${tag}`;
}

/**
 * The copied part of a response: every Via line of the request (top one fixed
 * up), From, To (tagged), Call-ID, CSeq. Missing headers are skipped so that a
 * 400 can still be built for a request that lacks them.
 */
function copiedHeaders(req: ReplyableHead, toTag: string | undefined): string {
  let out = '';
  const h = req.headers;
  for (let i = 0; i < h.length; i++) {
    const hdr = h[i]!;
    if (hdr.key === 'via') out += `Via: ${i === req.viaIndex ? req.fixedViaValue : hdr.value}\r\n`;
  }
  let from: SipHeader | undefined;
  let to: SipHeader | undefined;
  let callId: SipHeader | undefined;
  let cseq: SipHeader | undefined;
  for (const hdr of h) {
    if (hdr.key === 'from') from ??= hdr;
    else if (hdr.key === 'to') to ??= hdr;
    else if (hdr.key === 'call-id') callId ??= hdr;
    else if (hdr.key === 'cseq') cseq ??= hdr;
  }
  if (from) out += `From: ${from.value}\r\n`;
  if (to) out += `To: ${toWithTag(to.value, toTag)}\r\n`;
  if (callId) out += `Call-ID: ${callId.value}\r\n`;
  if (cseq) out += `CSeq: ${cseq.value}\r\n`;
  return out;
}

/** A response the edge generates itself (100, 400, 503...), latin1 text. */
export function buildLocalResponse(
  req: ReplyableHead,
  status: number,
  reason: string,
  toTag: string | undefined,
  extra: ReadonlyArray<readonly [string, string]> = [],
): string {
  let out = `SIP/2.0 ${status} ${reason}\r\n${copiedHeaders(req, status === 100 ? undefined : toTag)}`;
  for (const [name, value] of extra) out += `${name}: ${value}\r\n`;
  return `${out}Content-Length: 0\r\n\r\n`;
}

/** An app's response, as parsed from its `sip|<transactionId>|` frame. */
export interface AppResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  readonly body: string;
}

/**
 * The response that goes on the wire for an app's answer: status line and
 * headers from the app, the copied headers from the request, Content-Length
 * from the body's real byte length (drachtio-srf counts UTF-16 units).
 */
export function buildAppResponse(req: ReplyableHead, app: AppResponse, defaultTag: string): string {
  const appTo = app.headers.find((h) => h.key === 'to');
  const tag = (appTo && tagOf(appTo.value)) ?? defaultTag;
  let out = `SIP/2.0 ${app.status} ${app.reason}\r\n${copiedHeaders(req, app.status === 100 ? undefined : tag)}`;
  for (const h of app.headers) {
    if (COPIED.has(h.key)) continue;
    // Lower-case or compact names get standard casing; names an app spelled deliberately (X-Foo) stay.
    const name = h.name.length === 1 || h.name === h.key ? canonicalName(h.key) : h.name;
    out += `${name}: ${h.value}\r\n`;
  }
  return `${out}Content-Length: ${app.body.length}\r\n\r\n${app.body}`;
}
