/**
 * One SIP message per UDP datagram (RFC 3261 §18.3): the body is what follows
 * the empty line, cut to Content-Length when that is shorter.
 */
import { MessageHead, ParseLimits, parseHead } from './message';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** Result of reading one datagram. */
export type DatagramResult =
  | { readonly kind: 'keepalive' }
  | { readonly kind: 'message'; readonly head: MessageHead; readonly body: string; readonly bodyError: string | undefined };

/** True when the datagram holds only CR, LF, SP or HTAB (a NAT keep-alive). */
function isBlank(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c !== 13 && c !== 10 && c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Reads one datagram; never throws. */
export function readDatagram(data: Buffer, limits: ParseLimits): DatagramResult {
  if (isBlank(data)) return { kind: 'keepalive' };
  let start = 0;
  while (data[start] === 13 || data[start] === 10) start++; // RFC 3261 §7.5: leading CRLFs are ignored
  const end = data.indexOf(CRLFCRLF, start);
  let headEnd = end === -1 ? data.length : end;
  if (end === -1 && data[headEnd - 1] === 10) headEnd -= data[headEnd - 2] === 13 ? 2 : 1;
  const head = parseHead(data.toString('latin1', start, headEnd), limits);
  let body = end === -1 ? '' : data.toString('latin1', end + 4);
  let bodyError: string | undefined;
  if (head.contentLength !== undefined) {
    if (head.contentLength > body.length) bodyError = 'body shorter than Content-Length';
    else if (head.contentLength < body.length) body = body.slice(0, head.contentLength);
  }
  return { kind: 'message', head, body, bodyError };
}
