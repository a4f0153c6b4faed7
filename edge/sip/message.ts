/**
 * SIP message model and the bounded parser for the start line and header
 * block (RFC 3261 §7, §25). Text is handled as latin1 strings: one character
 * per byte, so any byte sequence (including invalid UTF-8) round-trips exactly
 * when it is written back with `Buffer.from(text, 'latin1')`.
 */
import { headerKey } from './header-names';
import { SIP_VERSION } from './constants';

/** One header line as it came in (folded lines joined, RFC 3261 §7.3.1). */
export interface SipHeader {
  /** The name as written on the wire (may be a compact form). */
  readonly name: string;
  /** Full lower-case name (compact forms expanded). */
  readonly key: string;
  /** The value with surrounding whitespace removed, bytes otherwise untouched. */
  readonly value: string;
}

/** Limits applied while parsing, all in bytes except `maxHeaders`. */
export interface ParseLimits {
  readonly maxMessageBytes: number;
  readonly maxHeaders: number;
  readonly maxLineBytes: number;
}

interface HeadBase {
  readonly headers: SipHeader[];
  /** The Content-Length value, when present and valid; undefined when one is invalid or two disagree. */
  readonly contentLength: number | undefined;
  /** Why the head is malformed (a human-readable 400 reason); undefined when it parsed. */
  readonly error: string | undefined;
}

/** A request start line and headers. */
export interface RequestHead extends HeadBase {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

/** A response start line and headers. */
export interface ResponseHead extends HeadBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

/** A start line that is neither a request nor a response: only its headers may be usable. */
export interface UnknownHead extends HeadBase {
  readonly kind: 'unknown';
  /** The start line's first word (at most 16 characters): a malformed response starts `SIP/`, a malformed ACK `ACK`. */
  readonly leader: string;
}

export type MessageHead = RequestHead | ResponseHead | UnknownHead;

// RFC 3261 §25.1: token characters.
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const DIGITS = /^[0-9]{1,10}$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6][0-9]{2}) (.*)$/i;

/** Removes SP and HTAB only: String.trim would also eat latin1 0xA0 and change the bytes. */
export function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function hasBadControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return true;
  }
  return false;
}

/** Up to 16 characters of `line` before its first SP or HTAB. */
function firstWord(line: string): string {
  const n = Math.min(line.length, 16);
  let i = 0;
  while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
  return line.slice(0, i);
}

/** A head whose start line is neither a request nor a response (its first word read only here, off the common path). */
function unknownHead(startLine: string, headers: SipHeader[], contentLength: number | undefined, error: string): UnknownHead {
  return { kind: 'unknown', leader: firstWord(startLine), headers, contentLength, error };
}

/**
 * RFC 3261 §17.2.1, §18.1.2: an ACK and a response are never answered, not even
 * when they are malformed. True for a request other than ACK, and for a start line
 * that is neither (it may be a malformed request: 400).
 */
export function mayAnswer(head: MessageHead): boolean {
  if (head.kind === 'request') return head.method !== 'ACK';
  if (head.kind === 'response') return false;
  return head.leader !== 'ACK' && !head.leader.toUpperCase().startsWith('SIP/');
}

/**
 * A folded header's value (RFC 3261 §7.3.1): its first line and continuation lines,
 * each trimmed, the non-empty ones joined with one space.
 * `continuations` is the parser's own list, changed in place.
 */
function joinFolded(first: string, continuations: string[]): string {
  const value = trimWs(first);
  let parts = continuations;
  if (parts.includes('')) parts = parts.filter((p) => p.length > 0);
  if (value.length > 0) parts.unshift(value);
  return parts.join(' ');
}

/**
 * Parses a header block: `head` is the text before the empty line (no trailing CRLF).
 * Never throws; a malformed head is returned with `error` set and whatever
 * headers could be read before the fault, so that a Via may still be found.
 */
export function parseHead(head: string, limits: ParseLimits): MessageHead {
  const headers: SipHeader[] = [];
  let error: string | undefined;
  let contentLength: number | undefined;

  let lineEnd = head.indexOf('\r\n');
  const startLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
  if (startLine.length > limits.maxLineBytes) return unknownHead(startLine, headers, contentLength, 'start line too long');

  let pos = lineEnd === -1 ? head.length : lineEnd + 2;
  // Header lines, bounded by maxHeaders and maxLineBytes.
  let pendingName = '';
  let pendingValue = '';
  /**
   * Continuation lines of the pending header, trimmed, joined once in `flush`: joining
   * them line by line re-read the growing value each time (quadratic in folded lines).
   */
  let folded: string[] | undefined;
  let pendingLength = 0;
  let pending = false;
  const flush = (): void => {
    if (!pending) return;
    pending = false;
    const key = headerKey(pendingName);
    const value = folded ? joinFolded(pendingValue, folded) : trimWs(pendingValue);
    folded = undefined;
    if (hasBadControl(value)) {
      error ??= `invalid characters in ${pendingName} header`;
      if (key === 'content-length') contentLength = undefined;
      return;
    }
    if (key === 'content-length') {
      if (!DIGITS.test(value)) {
        error ??= 'invalid Content-Length';
        contentLength = undefined; // even when an earlier line gave one
      } else if (contentLength !== undefined && contentLength !== Number(value)) {
        // Which line frames the message is unknown: a stream must not pick one (request smuggling).
        error ??= 'conflicting Content-Length headers';
        contentLength = undefined;
      } else contentLength = Number(value);
    }
    headers.push({ name: pendingName, key, value });
  };

  while (pos < head.length && error === undefined) {
    lineEnd = head.indexOf('\r\n', pos);
    if (lineEnd === -1) lineEnd = head.length;
    if (lineEnd - pos > limits.maxLineBytes) {
      error = 'header line too long';
      break;
    }
    const first = head.charCodeAt(pos);
    if (pos < lineEnd && (first === 32 || first === 9)) {
      // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header.
      if (!pending) {
        error = 'continuation line without a header';
        break;
      }
      if (pendingLength + lineEnd - pos > limits.maxLineBytes) {
        error = 'folded header too long';
        break;
      }
      // The line trimmed, read straight from `head`: thousands of short folded lines cost one slice each.
      let a = pos + 1;
      let b = lineEnd;
      while (a < b && (head.charCodeAt(a) === 32 || head.charCodeAt(a) === 9)) a++;
      while (b > a && (head.charCodeAt(b - 1) === 32 || head.charCodeAt(b - 1) === 9)) b--;
      (folded ??= []).push(a === b ? '' : head.slice(a, b));
      pendingLength += b - a + 1;
      pos = lineEnd + 2;
      continue;
    }
    const line = head.slice(pos, lineEnd);
    pos = lineEnd + 2;
    flush();
    if (error !== undefined) break;
    if (headers.length >= limits.maxHeaders) {
      error = 'too many headers';
      break;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      error = 'malformed header line';
      break;
    }
    const name = trimWs(line.slice(0, colon));
    if (!TOKEN.test(name)) {
      error = 'invalid header name';
      break;
    }
    pendingName = name;
    pendingValue = line.slice(colon + 1);
    pendingLength = pendingValue.length;
    pending = true;
  }
  if (error === undefined) flush();

  // Start line (RFC 3261 §7.1 request line, §7.2 status line).
  if (startLine.startsWith('SIP/') || startLine.startsWith('sip/')) {
    const m = STATUS_LINE.exec(startLine);
    if (!m) return unknownHead(startLine, headers, contentLength, error ?? 'malformed status line');
    return { kind: 'response', status: Number(m[1]), reason: m[2]!, headers, contentLength, error };
  }
  const sp1 = startLine.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || startLine.indexOf(' ', sp2 + 1) !== -1) {
    return unknownHead(startLine, headers, contentLength, error ?? 'malformed request line');
  }
  const method = startLine.slice(0, sp1);
  const uri = startLine.slice(sp1 + 1, sp2);
  const version = startLine.slice(sp2 + 1);
  if (!TOKEN.test(method)) return unknownHead(startLine, headers, contentLength, error ?? 'invalid method');
  if (uri.length === 0 || uri.indexOf(':') === -1 || hasBadControl(uri)) {
    error ??= 'invalid Request-URI';
  }
  if (version.toUpperCase() !== SIP_VERSION) error ??= 'unsupported SIP version';
  return { kind: 'request', method, uri, headers, contentLength, error };
}

/** First header with this (full, lower-case) key. */
export function getHeader(headers: readonly SipHeader[], key: string): SipHeader | undefined {
  for (const h of headers) if (h.key === key) return h;
  return undefined;
}

/** Number of header lines with this key. */
export function countHeaders(headers: readonly SipHeader[], key: string): number {
  let n = 0;
  for (const h of headers) if (h.key === key) n++;
  return n;
}

/**
 * Splits a header value at commas that separate values (RFC 3261 §7.3.1),
 * ignoring commas inside quoted strings and angle brackets.
 */
export function splitValues(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++; // backslash escape (quoted-pair)
      else if (c === 34) quoted = false;
    } else if (c === 34) quoted = true;
    else if (c === 60) angle = true;
    else if (c === 62) angle = false;
    else if (c === 44 && !angle) {
      out.push(trimWs(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimWs(value.slice(start)));
  return out;
}
