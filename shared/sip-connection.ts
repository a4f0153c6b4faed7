/**
 * Where a device is told to send its REGISTERs: an account's overrides, else the
 * configuration, else what follows from the SIP domain. Pure. The credentials route
 * and the provisioning server both answer with it, so a phone configured by hand and
 * one provisioned by MAC get the same server.
 */

/** Per-account overrides of what devices are told; null = the configured default. */
export interface AccountSipSettings {
  readonly sipServer: string | null;
  readonly sipPort: number | null;
  readonly outboundProxy: string | null;
  readonly transportProtocol: 'UDP' | 'TCP' | 'TLS' | null;
}

/** The configuration's defaults (SIP_PUBLIC_HOST, SIP_PUBLIC_PORT, SIP_OUTBOUND_PROXY, SIP_TRANSPORT). */
export interface SipDefaults {
  readonly SIP_PUBLIC_HOST?: string | undefined;
  readonly SIP_PUBLIC_PORT: number;
  readonly SIP_OUTBOUND_PROXY?: string | undefined;
  readonly SIP_TRANSPORT: 'UDP' | 'TCP' | 'TLS';
}

export interface SipConnection {
  server: string;
  port: number;
  transport: 'UDP' | 'TCP' | 'TLS';
  /** The outbound proxy as the credentials route shows it: the configured one, else `server:port`. */
  outboundProxy: string;
  /** Only an outbound proxy an account or the configuration set (phones are not told to use one otherwise). */
  configuredOutboundProxy: string | null;
}

export function sipConnection(account: AccountSipSettings, defaults: SipDefaults, sipDomain: string): SipConnection {
  const server = account.sipServer ?? defaults.SIP_PUBLIC_HOST ?? sipDomain;
  const port = account.sipPort ?? defaults.SIP_PUBLIC_PORT;
  const configuredOutboundProxy = account.outboundProxy ?? defaults.SIP_OUTBOUND_PROXY ?? null;
  return {
    server,
    port,
    transport: account.transportProtocol ?? defaults.SIP_TRANSPORT,
    outboundProxy: configuredOutboundProxy ?? `${server}:${port}`,
    configuredOutboundProxy,
  };
}

/** `host[:port]` (an IPv6 address in brackets) as host and port; `defaultPort` when none is written. */
export function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return { host: value, port: defaultPort };
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  return { host: m[1]!, port: port >= 1 && port <= 65535 ? port : defaultPort };
}
