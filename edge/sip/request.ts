/**
 * A request as the transaction layer sees it: the checks of RFC 3261 §8.2
 * and §16.3 that a stateless front end can make, plus the Via fix-up.
 */
import { countHeaders, getHeader, RequestHead, SipHeader, trimWs } from './message';
import { fixUpVia, topVia, Via } from './via';

/** Where a request came from. */
export interface RequestSource {
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** A request that passed the checks: everything later steps need, precomputed once. */
export interface InboundRequest {
  readonly method: string;
  readonly uri: string;
  readonly headers: readonly SipHeader[];
  readonly body: string;
  readonly via: Via;
  /** Index in `headers` of the header line that holds the top Via. */
  readonly viaIndex: number;
  /** Full value of that header line after the fix-up (other via-parms of the line kept). */
  readonly fixedViaValue: string;
  readonly callId: string;
  readonly cseqNumber: number;
  /** From and To values; their tags are read only where needed (RFC 2543 matching). */
  readonly from: string;
  readonly to: string;
}

/** The outcome: a usable request, or a reason and (when the Via was readable) enough to answer 400. */
export type RequestCheck =
  | { readonly ok: true; readonly request: InboundRequest }
  | { readonly ok: false; readonly reason: string; readonly replyable: ReplyableHead | undefined };

/** What a locally generated response needs from a request that may be malformed. */
export interface ReplyableHead {
  readonly headers: readonly SipHeader[];
  readonly viaIndex: number;
  readonly fixedViaValue: string;
  readonly via: Via;
}

const CSEQ = /^([0-9]{1,10})[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)$/;
/** RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31. */
const MAX_CSEQ = 2 ** 31 - 1;
const MAX_FORWARDS = /^[0-9]{1,3}$/;
/** RFC 3261 §20: headers that must appear once, in the order their repetition is reported. */
const SINGLE_VALUED: readonly string[] = ['call-id', 'cseq', 'from', 'to'];

/**
 * Returns the `tag` parameter of a From or To value (RFC 3261 §19.3), looking
 * only at header parameters: after `>` for a name-addr, after the URI otherwise.
 */
export function tagOf(value: string): string | undefined {
  let i = 0;
  let quoted = false;
  let paramsFrom = -1;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++;
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 62) {
      paramsFrom = i + 1;
      break;
    }
  }
  if (paramsFrom === -1) paramsFrom = value.indexOf('<') === -1 ? 0 : value.length;
  const params = value.slice(paramsFrom).split(';');
  for (let p = paramsFrom === 0 ? 1 : 0; p < params.length; p++) {
    const part = params[p]!;
    const eq = part.indexOf('=');
    if (eq !== -1 && trimWs(part.slice(0, eq)).toLowerCase() === 'tag') return trimWs(part.slice(eq + 1));
  }
  return undefined;
}

/** Reads the Via of any head (for a malformed request: can it be answered at all?). */
export function replyableHead(headers: readonly SipHeader[], source: RequestSource): ReplyableHead | undefined {
  const top = topVia(headers);
  if (!top) return undefined;
  const fixed = fixUpVia(top.via, source.remoteAddress, source.remotePort);
  return {
    headers,
    viaIndex: top.index,
    via: top.via,
    fixedViaValue: top.rest.length ? [fixed, ...top.rest].join(', ') : fixed,
  };
}

/** RFC 3261 §8.2.1 to §8.2.2 and §20: mandatory headers, CSeq form, single-valued headers. */
export function checkRequest(head: RequestHead, body: string, bodyError: string | undefined, source: RequestSource): RequestCheck {
  const replyable = replyableHead(head.headers, source);
  const fail = (reason: string): RequestCheck => ({ ok: false, reason, replyable });
  if (head.error) return fail(head.error);
  if (bodyError) return fail(bodyError);
  if (!replyable) return fail('missing or malformed Via');
  const callId = getHeader(head.headers, 'call-id');
  const cseq = getHeader(head.headers, 'cseq');
  const from = getHeader(head.headers, 'from');
  const to = getHeader(head.headers, 'to');
  if (!callId || callId.value === '') return fail('missing Call-ID');
  if (!cseq) return fail('missing CSeq');
  if (!from) return fail('missing From');
  if (!to) return fail('missing To');
  for (const key of SINGLE_VALUED) {
    if (countHeaders(head.headers, key) > 1) return fail(`more than one ${key} header`);
  }
  const m = CSEQ.exec(cseq.value);
  if (!m) return fail('malformed CSeq');
  const cseqNumber = Number(m[1]);
  if (cseqNumber > MAX_CSEQ) return fail('CSeq number too large');
  // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method.
  if (m[2] !== head.method) return fail('CSeq method does not match the request method');
  const maxForwards = getHeader(head.headers, 'max-forwards');
  if (maxForwards && !MAX_FORWARDS.test(maxForwards.value)) return fail('malformed Max-Forwards');
  return {
    ok: true,
    request: {
      method: head.method,
      uri: head.uri,
      headers: head.headers,
      body,
      via: replyable.via,
      viaIndex: replyable.viaIndex,
      fixedViaValue: replyable.fixedViaValue,
      callId: callId.value,
      cseqNumber,
      from: from.value,
      to: to.value,
    },
  };
}

/**
 * RFC 3261 §10.2.2 / §10.3 step 6: `Contact: *` is only allowed alone and with
 * `Expires: 0`. Returns a reason when the request breaks that rule.
 */
export function wildcardContactProblem(req: InboundRequest): string | undefined {
  let wildcard = false;
  let contacts = 0;
  for (const h of req.headers) {
    if (h.key !== 'contact') continue;
    contacts++;
    if (h.value === '*') wildcard = true;
  }
  if (!wildcard) return undefined;
  if (contacts > 1) return 'Contact * must be the only Contact';
  const expires = getHeader(req.headers, 'expires');
  if (!expires || !/^0+$/.test(expires.value)) return 'Contact * requires Expires: 0';
  return undefined;
}
