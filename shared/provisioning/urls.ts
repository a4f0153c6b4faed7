/** What the provisioning server's address is, for admins and phones (DHCP option 66). Pure. */
export interface ProvisioningUrlConfig {
  readonly PROVISIONING_PUBLIC_URL?: string | undefined;
  readonly PROVISIONING_PORT: number;
  readonly PROVISIONING_TLS_CERT?: string | undefined;
  readonly PROVISIONING_TLS_KEY?: string | undefined;
  readonly SIP_PUBLIC_HOST?: string | undefined;
}

/** The directory phones are pointed at: PROVISIONING_PUBLIC_URL, else derived from the listener. No trailing slash. */
export function provisioningUrl(cfg: ProvisioningUrlConfig): string {
  if (cfg.PROVISIONING_PUBLIC_URL) return cfg.PROVISIONING_PUBLIC_URL;
  const scheme = cfg.PROVISIONING_TLS_CERT && cfg.PROVISIONING_TLS_KEY ? 'https' : 'http';
  const host = cfg.SIP_PUBLIC_HOST ?? '127.0.0.1';
  return `${scheme}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${cfg.PROVISIONING_PORT}`;
}

/** The directory of a device's path token: `<url>/t/<token>`. */
export function tokenUrl(base: string, token: string): string {
  return `${base}/t/${token}`;
}
