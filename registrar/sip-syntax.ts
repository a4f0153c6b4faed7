/**
 * Just enough SIP syntax (RFC 3261 §19, §20, §25) for a registrar: URIs, header
 * lists split on commas outside quotes and angle brackets, and `;name=value`
 * parameters. Pure: no I/O, no drachtio-srf.
 */

import { closingQuote, splitHeaderList } from '../shared/header-list';

export { splitHeaderList };

/** A parsed SIP or SIPS URI (RFC 3261 §19.1.1). */
export interface SipUri {
  scheme: 'sip' | 'sips';
  /** Unescaped user part, or null when the URI has none. */
  user: string | null;
  /** Host, lower-cased (IPv6 references keep their brackets). */
  host: string;
  port: number | null;
  /** URI parameters, names lower-cased; a parameter without value maps to ''. */
  params: Map<string, string>;
  /** The headers component after `?`, as sent, or ''. */
  headers: string;
}

const SCHEME = /^(sips?):/i;

function unescapeUser(user: string): string | null {
  if (!user.includes('%')) return user;
  try {
    return decodeURIComponent(user);
  } catch {
    return null;
  }
}

/** Parses a SIP/SIPS URI (no angle brackets). Returns null when it is not one. */
export function parseSipUri(text: string): SipUri | null {
  const s = text.trim();
  const m = SCHEME.exec(s);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase() as 'sip' | 'sips';
  let rest = s.slice(m[0].length);
  let user: string | null = null;
  // '?' may appear in the user part (user-unreserved) but '@' may not appear unescaped in
  // the headers (RFC 3261 §25.1), so the last '@' ends the userinfo wherever a '?' is.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = unescapeUser(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    if (user === null || user === '') return null;
    rest = rest.slice(at + 1);
  }
  let headers = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const semi = rest.indexOf(';');
  const hostport = semi >= 0 ? rest.slice(0, semi) : rest;
  const params = parseParams(semi >= 0 ? rest.slice(semi) : '');
  if (params === null) return null;
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return null;
    host = hostport.slice(0, end + 1);
    const after = hostport.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return null;
      portText = after.slice(1);
    }
  } else {
    const colon = hostport.indexOf(':');
    host = colon >= 0 ? hostport.slice(0, colon) : hostport;
    if (colon >= 0) portText = hostport.slice(colon + 1);
  }
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/.test(host)) return null;
  let port: number | null = null;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port > 65535) return null;
  }
  return { scheme, user, host: host.toLowerCase(), port, params, headers };
}

/**
 * Parses `;name=value;flag` parameters (RFC 3261 §25.1 generic-param). Quoted
 * values keep their quotes removed. Names are lower-cased. Returns null on bad syntax.
 */
export function parseParams(text: string): Map<string, string> | null {
  const params = new Map<string, string>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i >= n) break;
    if (text[i] !== ';') return null;
    i++;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    const start = i;
    while (i < n && text[i] !== '=' && text[i] !== ';' && !isWs(text.charCodeAt(i))) i++;
    const name = text.slice(start, i).toLowerCase();
    if (name === '') return null;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    let value = '';
    if (text[i] === '=') {
      i++;
      while (i < n && isWs(text.charCodeAt(i))) i++;
      if (text[i] === '"') {
        const end = closingQuote(text, i);
        if (end < 0) return null;
        value = text.slice(i + 1, end).replace(/\\(.)/g, '$1');
        i = end + 1;
      } else {
        const vs = i;
        while (i < n && text[i] !== ';' && !isWs(text.charCodeAt(i))) i++;
        value = text.slice(vs, i);
      }
    }
    params.set(name, value);
  }
  return params;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** One name-addr or addr-spec (RFC 3261 §20.10 Contact, §20.39 To) with its header parameters. */
export interface NameAddr {
  /** The URI text exactly as sent (inside the angle brackets when there are some). */
  uri: string;
  /** The header parameters exactly as sent, starting with `;`, or ''. */
  rawParams: string;
  params: Map<string, string>;
}

/** Parses one name-addr / addr-spec. Returns null on bad syntax. */
export function parseNameAddr(element: string): NameAddr | null {
  let s = element.trim();
  let uri: string;
  let rawParams: string;
  const lt = indexOutsideQuotes(s, '<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return null;
    const display = s.slice(0, lt).trim();
    if (display !== '' && !/^("([^"\\]|\\.)*"|[^"<>]+)$/.test(display)) return null;
    uri = s.slice(lt + 1, gt).trim();
    rawParams = s.slice(gt + 1).trim();
  } else {
    // addr-spec form: every ';' after the URI starts a header parameter (RFC 3261 §20.10).
    s = s.replace(/^"[^"]*"\s*/, '');
    const semi = s.indexOf(';');
    uri = (semi >= 0 ? s.slice(0, semi) : s).trim();
    rawParams = semi >= 0 ? s.slice(semi).trim() : '';
  }
  if (uri === '' || /\s/.test(uri)) return null;
  const params = parseParams(rawParams);
  if (params === null) return null;
  return { uri, rawParams, params };
}

function indexOutsideQuotes(s: string, ch: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"') {
      const end = closingQuote(s, i);
      if (end < 0) return -1;
      i = end;
    } else if (s[i] === ch) return i;
  }
  return -1;
}

/** Removes the parameter `name` (case-insensitive) from raw `;a=b;c` parameter text, leaving the rest exactly as sent. */
export function removeRawParam(rawParams: string, name: string): string {
  const parts = splitParamsRaw(rawParams);
  return parts.filter((p) => p.name !== name).map((p) => p.text).join('');
}

function splitParamsRaw(raw: string): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  let i = 0;
  while (i < raw.length) {
    const start = i;
    i++;
    while (i < raw.length && raw[i] !== ';') {
      if (raw[i] === '"') {
        const end = closingQuote(raw, i);
        i = end < 0 ? raw.length : end + 1;
      } else i++;
    }
    const text = raw.slice(start, i);
    const name = (/^;\s*([^=;\s]*)/.exec(text)?.[1] ?? '').toLowerCase();
    out.push({ name, text: text.trimEnd() }); // not /\s+$/: quadratic on a long inner run of spaces
  }
  return out;
}

/** Splits a token list header (Require, Supported) into lower-cased option tags. */
export function optionTags(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}
