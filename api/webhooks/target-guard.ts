import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { types } from 'node:util';

/**
 * SSRF protection for webhook targets. An account chooses the URL; the server
 * makes the request, so without a guard a webhook could reach the loopback
 * interface, the internal network or a cloud metadata service. A target is
 * checked when it is saved (checkWebhookTarget) and again at every delivery
 * (guardedLookup), because the name may resolve elsewhere by then (DNS
 * rebinding).
 */

/** What an address is, as far as a webhook may reach it. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

/** The setting an operator changes to allow loopback and private targets (named in refusal messages). */
const ALLOW_PRIVATE_SETTING = 'WEBHOOK_ALLOW_PRIVATE_TARGETS';

/** Longest webhook URL accepted: longer ones are mistakes or abuse. */
const MAX_URL_LENGTH = 2048;

const DEFAULT_RESOLVE_TIMEOUT_MS = 3000;

/**
 * Ranges per class, tried in this order: the first class whose list holds an
 * address is its class. Metadata comes first because its addresses lie inside
 * link-local (169.254.169.254), CGNAT (100.100.100.200) and fc00::/7
 * (fd00:ec2::254). One list per family: a BlockList also matches IPv4
 * addresses against IPv6 rules in mapped form, which is not wanted here
 * (mapped addresses are unwrapped before the look-up).
 */
const RANGES: readonly (readonly [AddressClass, readonly string[]])[] = [
  ['metadata', ['169.254.169.254/32', '100.100.100.200/32', 'fd00:ec2::254/128']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  [
    'reserved',
    // ::/96 beyond :: and ::1 is the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1): nothing public lives there.
    // Teredo (2001::/32, RFC 4380) tunnels to an address it hides; 192.0.0.0/24 holds IETF protocol
    // assignments (and Oracle's metadata at 192.0.0.192).
    ['0.0.0.0/8', '192.0.0.0/24', '224.0.0.0/4', '240.0.0.0/4', '::/96', 'ff00::/8', '2001::/32'],
  ],
  [
    'private',
    [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '100.64.0.0/10', // CGNAT (RFC 6598)
      '198.18.0.0/15', // benchmarking (RFC 2544)
      '192.0.2.0/24', // documentation (RFC 5737), and the two below
      '198.51.100.0/24',
      '203.0.113.0/24',
      'fc00::/7', // unique local (RFC 4193)
      'fec0::/10', // site-local: deprecated (RFC 3879), but old networks may still route it inside
      '2001:db8::/32', // documentation (RFC 3849), like the IPv4 ones above
      '64:ff9b:1::/48', // local-use NAT64 (RFC 8215): translates into a network-specific IPv4 space
    ],
  ],
];

interface ClassRanges {
  readonly cls: AddressClass;
  readonly v4: BlockList;
  readonly v6: BlockList;
}

const CLASS_RANGES: readonly ClassRanges[] = RANGES.map(([cls, cidrs]) => {
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    if (isIP(network) === 6) v6.addSubnet(network, Number(prefix), 'ipv6');
    else v4.addSubnet(network, Number(prefix), 'ipv4');
  }
  return { cls, v4, v6 };
});

/** The eight 16-bit groups of a valid IPv6 literal (one isIP accepted, without zone). */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Trailing dotted quad (::ffff:127.0.0.1): two groups.
    const [a = 0, b = 0, c = 0, d = 0] = text.slice(lastColon + 1).split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon);
    if (text.endsWith(':')) text += ':'; // "::1.2.3.4" left ":"; it was "::"
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  const head = gap === -1 ? parse(text) : parse(text.slice(0, gap));
  const rest = gap === -1 ? [] : parse(text.slice(gap + 2));
  const zeros = 8 - tail.length - head.length - rest.length;
  return [...head, ...new Array<number>(Math.max(0, zeros)).fill(0), ...rest, ...tail];
}

/**
 * The IPv4 address an IPv6 one stands for, when it embeds one a connection
 * would reach: IPv4-mapped (::ffff:a.b.c.d, also written ::ffff:7f00:1), SIIT
 * IPv4-translated (::ffff:0:a.b.c.d, RFC 2765), the NAT64 well-known prefix
 * 64:ff9b::/96 (RFC 6052) and 6to4 (2002:AABB:CCDD::/48, RFC 3056). Null otherwise.
 */
function embeddedIpv4(groups: readonly number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const quad = (hi: number, lo: number): string => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  if (g0 === 0x2002) return quad(g1, g2);
  const mapped = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff;
  const translated = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0;
  const nat64 = g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  return mapped || translated || nat64 ? quad(g6, g7) : null;
}

/**
 * The class of an IPv4 or IPv6 literal. IPv4-mapped and NAT64 addresses are
 * classified by the IPv4 address they embed; an IPv6 zone (`%eth0`) is
 * ignored; anything that is not an IP literal is 'reserved'.
 */
export function classifyAddress(ip: string): AddressClass {
  const zone = ip.indexOf('%');
  const bare = zone === -1 ? ip : ip.slice(0, zone);
  const family = isIP(bare);
  if (family === 0 || (zone !== -1 && family !== 6)) return 'reserved';
  if (family === 6) {
    const v4 = embeddedIpv4(ipv6Groups(bare));
    if (v4 !== null) return classifyAddress(v4);
  }
  for (const { cls, v4, v6 } of CLASS_RANGES) {
    if (family === 4 ? v4.check(bare, 'ipv4') : v6.check(bare, 'ipv6')) return cls;
  }
  return 'public';
}

/**
 * Whether a webhook may connect to `ip`: public addresses always; loopback and
 * private ones only when the operator allows them (`allowPrivate`, for
 * receivers on the same host or network); link-local, metadata and reserved
 * addresses never.
 */
export function isAllowedAddress(ip: string, allowPrivate: boolean): boolean {
  switch (classifyAddress(ip)) {
    case 'public':
      return true;
    case 'loopback':
    case 'private':
      return allowPrivate;
    case 'link-local':
    case 'metadata':
    case 'reserved':
      return false;
  }
}

/** Why a webhook URL or target was refused. */
type WebhookTargetErrorCode = 'invalid-url' | 'unsupported-scheme' | 'credentials-in-url' | 'refused-address' | 'unresolvable';

/** A webhook URL that is malformed or would reach an address a webhook may not reach; the message is for the operator. */
export class WebhookTargetError extends Error {
  constructor(readonly code: WebhookTargetErrorCode, message: string) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

/**
 * The operator-facing reason `ip` (from `host`) is refused, saying which
 * class it is and whether the setting could allow it.
 */
function refusalMessage(host: string, ip: string): string {
  const cls = classifyAddress(ip);
  const subject = host === ip ? `webhook target ${ip} is` : `webhook target ${host} resolves to ${ip},`;
  switch (cls) {
    case 'loopback':
    case 'private':
      return `${subject} a ${cls} address; set ${ALLOW_PRIVATE_SETTING}=true to allow loopback and private targets`;
    case 'link-local':
      return `${subject} a link-local address; link-local targets are never allowed, whatever ${ALLOW_PRIVATE_SETTING} says`;
    case 'metadata':
      return `${subject} a cloud metadata service address; metadata targets are never allowed, whatever ${ALLOW_PRIVATE_SETTING} says`;
    case 'reserved':
    case 'public': // never refused, so never asked; here so the switch stays exhaustive
      return `${subject} a reserved address (unspecified, multicast or broadcast); reserved targets are never allowed`;
  }
}

/**
 * Parses a webhook URL as an account submits it. Throws WebhookTargetError:
 * `invalid-url` when it is not an absolute URL, is longer than 2048
 * characters or has no host; `unsupported-scheme` for anything but http and
 * https; `credentials-in-url` when it carries a username or password (they
 * would be sent in clear in logs and Authorization headers; deliveries are
 * authenticated by their signature instead). The fragment is dropped: it is
 * never sent.
 */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > MAX_URL_LENGTH) {
    throw new WebhookTargetError('invalid-url', `webhook URL is longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('invalid-url', 'webhook URL is not a valid absolute URL (expected e.g. https://example.com/hooks)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetError('unsupported-scheme', `webhook URL scheme ${url.protocol} is not supported; use https: (or http:)`);
  }
  if (url.hostname === '') throw new WebhookTargetError('invalid-url', 'webhook URL has no host');
  if (url.username !== '' || url.password !== '') {
    throw new WebhookTargetError(
      'credentials-in-url',
      'webhook URL must not contain a username or password; receivers authenticate deliveries by their webhook-signature header',
    );
  }
  url.hash = '';
  return url;
}

/** Resolves a host name to all its addresses (dns.lookup with `all: true` in form). */
export type LookupAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** The system resolver (getaddrinfo, so /etc/hosts counts), in the order it answers. */
const systemLookup: LookupAll = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** The host of `url` as a connection uses it: IPv6 literals without their brackets. */
function bareHost(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `lookup(hostname)`, rejected with `unresolvable` when it fails or takes longer than `timeoutMs`. */
async function resolveWithin(hostname: string, lookup: LookupAll, timeoutMs: number): Promise<{ address: string; family: number }[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WebhookTargetError('unresolvable', `webhook target ${hostname} did not resolve within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([lookup(hostname), timeout]);
  } catch (err) {
    if (err instanceof WebhookTargetError) throw err;
    const code = (err as NodeJS.ErrnoException | null)?.code;
    throw new WebhookTargetError('unresolvable', `webhook target ${hostname} could not be resolved${code ? ` (${code})` : ''}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks where `url` leads (when a webhook is saved, and before a delivery to
 * an IP literal). An IP-literal host is checked as it is; a name is resolved
 * (`lookup`, default the system resolver, within `timeoutMs`, default 3000)
 * and refused when ANY of its addresses is not allowed: a name that answers
 * with both public and private addresses is what a rebinding attack looks
 * like. Returns the addresses; throws WebhookTargetError `refused-address` or
 * `unresolvable` (lookup failed, timed out or gave no address).
 */
export async function checkWebhookTarget(
  url: URL,
  opts: { allowPrivate: boolean; lookup?: LookupAll; timeoutMs?: number },
): Promise<string[]> {
  const host = bareHost(url);
  if (isIP(host) !== 0) {
    if (!isAllowedAddress(host, opts.allowPrivate)) throw new WebhookTargetError('refused-address', refusalMessage(host, host));
    return [host];
  }
  const answers = await resolveWithin(host, opts.lookup ?? systemLookup, opts.timeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS);
  if (answers.length === 0) throw new WebhookTargetError('unresolvable', `webhook target ${host} resolved to no address`);
  const refused = answers.find((a) => !isAllowedAddress(a.address, opts.allowPrivate));
  if (refused) throw new WebhookTargetError('refused-address', refusalMessage(host, refused.address));
  return answers.map((a) => a.address);
}

/** The family a LookupOptions asks for: 4, 6, or 0 for either. */
function requestedFamily(options: LookupOptions): 0 | 4 | 6 {
  const f = options.family;
  if (f === 4 || f === 'IPv4') return 4;
  if (f === 6 || f === 'IPv6') return 6;
  return 0;
}

/**
 * A `lookup` for http.request / net.connect that resolves with `lookup`
 * (default the system resolver) and fails with code `EWEBHOOKREFUSED` when any
 * address is not allowed, so the socket connects only to an address checked
 * at that moment, not at save time (DNS rebinding). It answers in the form
 * node asked for: an array when `options.all` is set (node ≥ 20 does so for
 * autoSelectFamily), else the first address and its family. It has no timeout
 * of its own: the request's timeout bounds it. Node does not call a lookup for
 * an IP-literal host, so check those with isAllowedAddress before connecting.
 */
export function guardedLookup(allowPrivate: boolean, lookup: LookupAll = systemLookup): LookupFunction {
  return (hostname, options, callback) => {
    const fail = (err: NodeJS.ErrnoException): void => callback(err, options.all ? [] : '');
    // Through a promise so that a lookup that throws instead of rejecting still reaches the callback.
    Promise.resolve(hostname).then(lookup).then(
      (answers) => {
        const refused = answers.find((a) => !isAllowedAddress(a.address, allowPrivate));
        if (refused) {
          fail(Object.assign(new Error(refusalMessage(hostname, refused.address)), { code: 'EWEBHOOKREFUSED' }));
          return;
        }
        // The family is taken from the address itself, not from what an injected lookup claims.
        const wanted = requestedFamily(options);
        const usable: LookupAddress[] = answers
          .map((a) => ({ address: a.address, family: isIP(a.address) }))
          .filter((a) => wanted === 0 || a.family === wanted);
        const first = usable[0];
        if (!first) {
          fail(Object.assign(new Error(`webhook target ${hostname} resolved to no usable address`), { code: 'ENOTFOUND', hostname }));
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      // isNativeError, not instanceof: node's own errors may come from another realm (jest's vm contexts).
      (err: unknown) => fail(types.isNativeError(err) ? err : new Error(String(err))),
    );
  };
}
