/**
 * RFC 3261 §17.2.3: matching requests to server transactions. A branch with
 * the magic cookie identifies the transaction together with the sent-by and
 * the method (ACK and CANCEL look for the INVITE); older RFC 2543 clients are
 * matched on Request-URI, tags, Call-ID, CSeq and the top Via.
 */
import { BRANCH_MAGIC_COOKIE } from '../sip/constants';
import { InboundRequest, tagOf } from '../sip/request';

/**
 * A flat copy of a key, for keys kept after their request. A key built by concatenation is, in
 * V8, a rope of its parts, and the parts (the branch, the Call-ID...) are slices of
 * the whole request text: the key of an INVITE transaction kept for Timer H or I
 * (non-INVITE ones go to the CompletedTable as bytes) would keep its request's text
 * alive for up to 32 s, and hashing it for a Map lookup does not always flatten it. The
 * text is latin1, so the copy is exact. Keys only looked up need no copy.
 */
export function flatCopy(key: string): string {
  return Buffer.from(key, 'latin1').toString('latin1');
}

/** The key of the transaction a request belongs to, for `method` (defaults to the request's own). */
export function transactionKey(req: InboundRequest, method: string = req.method): string {
  const via = req.via;
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) {
    return `3261\0${branch}\0${via.host.toLowerCase()}:${via.port ?? ''}\0${method}`;
  }
  // RFC 3261 §17.2.3 (RFC 2543 fallback). The To tag of an ACK is the one we chose, so INVITE matching leaves it out.
  const toTag = method === 'INVITE' ? '' : (tagOf(req.to) ?? '');
  const viaText = via.sentByText + via.params.map(([n, v]) => (v === undefined ? `;${n}` : `;${n}=${v}`)).join('');
  return `2543\0${req.uri}\0${toTag}\0${tagOf(req.from) ?? ''}\0${req.callId}\0${req.cseqNumber}\0${method}\0${viaText}`;
}
