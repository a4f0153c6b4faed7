/**
 * The topmost Via header: parsing (RFC 3261 §20.42, §25.1 via-parm) and the
 * server-side fix-up of RFC 3261 §18.2.1 and RFC 3581 §4, done the way
 * drachtio-server does it: `rport` always carries the source port and
 * `received` is added when the sent-by host is not the source address.
 */
import { SipHeader, splitValues, trimWs } from './message';

/** A parsed via-parm. */
export interface Via {
  /** Transport token, upper case (UDP, TCP, TLS, ...). */
  readonly transport: string;
  /** sent-by host as written (IPv6 references keep their brackets). */
  readonly host: string;
  readonly port: number | undefined;
  /** `SIP/2.0/UDP host:port` exactly as it came in. */
  readonly sentByText: string;
  /** Parameters in their original order and spelling; value undefined for a flag. */
  readonly params: ReadonlyArray<readonly [string, string | undefined]>;
  readonly branch: string | undefined;
}

const VIA_START = /^SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?/i;
const PARAM_NAME = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Parses one via-parm; undefined when it cannot be read. */
export function parseVia(text: string): Via | undefined {
  const m = VIA_START.exec(text);
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && port > 65535) return undefined;
  const params: Array<readonly [string, string | undefined]> = [];
  let branch: string | undefined;
  const rest = text.slice(m[0].length);
  if (trimWs(rest).length > 0) {
    const parts = rest.split(';');
    if (trimWs(parts[0]!) !== '') return undefined;
    for (let i = 1; i < parts.length; i++) {
      const p = trimWs(parts[i]!);
      const eq = p.indexOf('=');
      const name = trimWs(eq === -1 ? p : p.slice(0, eq));
      if (!PARAM_NAME.test(name)) return undefined;
      const value = eq === -1 ? undefined : trimWs(p.slice(eq + 1));
      if (value !== undefined && value.length === 0) return undefined;
      params.push([name, value]);
      if (branch === undefined && name.toLowerCase() === 'branch') branch = value;
    }
  }
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port, sentByText: m[0], params, branch };
}

/** Finds and parses the topmost via-parm of a header list. */
export function topVia(headers: readonly SipHeader[]): { via: Via; index: number; rest: string[] } | undefined {
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.key !== 'via') continue;
    const values = splitValues(h.value);
    const via = parseVia(values[0]!);
    if (!via) return undefined;
    return { via, index: i, rest: values.slice(1) };
  }
  return undefined;
}

/** Strips the brackets of an IPv6 reference. */
function bareHost(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * RFC 3261 §18.2.1 / RFC 3581 §4: the via-parm with `rport` set to the source
 * port (added when absent) and `received` set when the host differs from the source.
 */
export function fixUpVia(via: Via, sourceAddress: string, sourcePort: number): string {
  let out = via.sentByText;
  let sawRport = false;
  const addReceived = bareHost(via.host).toLowerCase() !== sourceAddress.toLowerCase();
  for (const [name, value] of via.params) {
    const lower = name.toLowerCase();
    if (lower === 'received') continue; // re-added below when needed, with our value
    if (lower === 'rport') {
      if (sawRport) continue;
      sawRport = true;
      out += `;${name}=${sourcePort}`;
      continue;
    }
    out += value === undefined ? `;${name}` : `;${name}=${value}`;
  }
  if (!sawRport) out += `;rport=${sourcePort}`;
  if (addReceived) out += `;received=${sourceAddress}`;
  return out;
}
