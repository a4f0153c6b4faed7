/**
 * What a phone's request names: which file, for which MAC address, and which MAC
 * its User-Agent claims. Pure. MACs here are 12 lower-case hex digits, no separators
 * (`001565000001`); the devices table stores `00:15:65:00:00:01` (shared/mac-address.ts).
 */

/** The kinds of file the provisioning server answers (docs/provisioning.md lists which vendor asks for which). */
export type FileKind =
  | 'mac-cfg' // {mac}.cfg: Yealink and Fanvil configuration, Polycom master configuration file
  | 'polycom-sip' // {mac}-sip.cfg: the Polycom settings file the master file lists
  | 'grandstream' // cfg{mac}.xml
  | 'cisco' // spa{mac}.xml
  | 'snom'; // snom{model}-{MAC}.htm or .xml

export interface RequestedFile {
  kind: FileKind;
  /** 12 lower-case hex digits. */
  mac: string;
  /** The name as requested (the last path segment). */
  name: string;
}

const NAMES: readonly [RegExp, FileKind][] = [
  [/^([0-9a-f]{12})\.cfg$/i, 'mac-cfg'],
  [/^([0-9a-f]{12})-sip\.cfg$/i, 'polycom-sip'],
  [/^cfg([0-9a-f]{12})\.xml$/i, 'grandstream'],
  [/^spa([0-9a-f]{12})\.xml$/i, 'cisco'],
  [/^snom[a-z0-9]{1,16}-([0-9a-f]{12})\.(?:htm|xml)$/i, 'snom'],
];

/** The file a request path's last segment names, or null (a name no phone of ours asks for: 404 without a challenge). */
export function requestedFile(name: string): RequestedFile | null {
  if (name.length > 64) return null;
  for (const [re, kind] of NAMES) {
    const m = re.exec(name);
    if (m) return { kind, mac: m[1]!.toLowerCase(), name };
  }
  return null;
}

/** `00:15:65:00:00:01` (the stored form) as 12 hex digits. */
export function compactMac(stored: string): string {
  return stored.replace(/:/g, '');
}

/** 12 hex digits in the stored form `00:15:65:00:00:01`. */
export function storedMac(compact: string): string {
  return compact.toLowerCase().match(/../g)!.join(':');
}

// Where vendors put the MAC in the User-Agent of a configuration fetch (docs/provisioning.md).
// A bare 12-digit hex token is read only in these places: elsewhere it may be a serial number
// (Linksys puts the serial in parentheses), and a wrong reading would refuse a real phone.
const UA_MACS: readonly RegExp[] = [
  // Anything written as a MAC with separators, not part of a longer run (Yealink: "Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc").
  /(?<![0-9a-f]|[0-9a-f][:-])([0-9a-f]{2}([:-])(?:[0-9a-f]{2}\2){4}[0-9a-f]{2})(?![0-9a-f]|[:-][0-9a-f])/gi,
  // Polycom: "(SN:0004f2aabbcc)".
  /\bSN:([0-9a-f]{12})(?![0-9a-z])/gi,
  // Grandstream: "DevId 000b82aabbcc".
  /\bDevId\s+([0-9a-f]{12})(?![0-9a-z])/gi,
  // Fanvil: "Fanvil X4 2.10.2.6887 0c383e07e16c" (model, firmware, MAC).
  /^Fanvil\s+\S+\s+\S+\s+([0-9a-f]{12})(?![0-9a-z])/gi,
  // Snom 10.x: "snomD785-SIP 10.1.169.16 … 00041396D9B4 SXM:0".
  /\bsnom\w*-SIP\s.*?(?<![0-9a-z])([0-9a-f]{12})(?![0-9a-z])/gi,
];

/** The MACs (12 lower-case hex digits) a User-Agent carries, in the forms phones write them. */
export function userAgentMacs(userAgent: string | undefined): string[] {
  if (!userAgent) return [];
  const ua = userAgent.slice(0, 512);
  const found = new Set<string>();
  for (const re of UA_MACS) {
    for (const m of ua.matchAll(re)) found.add(m[1]!.replace(/[:-]/g, '').toLowerCase());
  }
  return [...found];
}

/** True when the User-Agent names no MAC, or names `mac` among those it names. */
export function userAgentAllows(userAgent: string | undefined, mac: string): boolean {
  const macs = userAgentMacs(userAgent);
  return macs.length === 0 || macs.includes(mac);
}
