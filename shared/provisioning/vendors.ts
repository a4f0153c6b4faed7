import { createHash } from 'node:crypto';
import type { FileKind } from './requests';
import type { PhoneConfig, HostPort } from './phone-config';
import { Codec, CODECS } from './settings';
import type { TemplateFormat, View } from './render';

/**
 * The vendors whose phones fetch their configuration by MAC, and how each one's keys
 * are filled from a PhoneConfig (docs/provisioning.md has a sample of each file).
 * Pure: one view function per vendor; the template files hold the layout.
 */

export type VendorId = 'yealink' | 'polycom' | 'grandstream' | 'cisco' | 'snom' | 'fanvil';

export interface VendorFile {
  kind: FileKind;
  /** The name the phone asks for. */
  name: string;
  /** Template file in ./templates. */
  template: string;
  format: TemplateFormat;
  contentType: string;
  /** Other names phones ask this file by (Snom puts its own model in the name), besides `name`. */
  alsoMatches?: RegExp;
  /** Line ends the file is served with (templates are written with LF). Default: LF. */
  lineEnding?: 'crlf';
}

export interface Vendor {
  id: VendorId;
  /** Words of a device's `manufacturer` that name this vendor (lower case). */
  names: readonly string[];
  /** The files of a device: the main one first (the preview shows it). */
  files(mac: string, model: string | null): VendorFile[];
  /** The template's values for one of its files. */
  view(kind: FileKind, phone: PhoneConfig, model: string | null): View;
}

const XML = 'application/xml; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';

const hostPort = (hp: HostPort | null): string => (hp ? `${hp.host}:${hp.port}` : '');
/** ToS byte of a DSCP value (DSCP is its upper six bits). */
const tos = (dscp: number): number => dscp << 2;
/** `+01:00`-style offset as `GMT+01:00`. */
const gmt = (minutes: number): string => {
  const a = Math.abs(minutes);
  return `GMT${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
};
/** A fixed offset as a POSIX TZ string (whose sign is west of UTC): +01:00 → UTC-1, -05:30 → UTC+5:30. */
const posixTz = (minutes: number): string => {
  const a = Math.abs(minutes);
  return `UTC${minutes > 0 ? '-' : '+'}${Math.floor(a / 60)}${a % 60 ? `:${String(a % 60).padStart(2, '0')}` : ''}`;
};
/** Minutes east of UTC as a signed `+H` / `-H:MM` (Yealink's time zone values). */
const hoursOffset = (minutes: number): string => {
  if (minutes === 0) return '0';
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${Math.floor(a / 60)}${a % 60 ? `:${String(a % 60).padStart(2, '0')}` : ''}`;
};
/** What the Yealink, Polycom and Fanvil files name alike (their transport in the vendor's values). */
const lineView = (p: PhoneConfig, transport: string): View => ({
  label: p.label,
  displayName: p.displayName,
  username: p.username,
  password: p.password,
  domain: p.domain,
  port: p.port,
  transport,
  expiry: p.settings.registrationExpiry,
  rtpPortMin: p.settings.rtpPortMin,
  rtpPortMax: p.settings.rtpPortMax,
  dscpRtp: p.settings.dscpRtp,
  dscpSip: p.settings.dscpSip,
  ntpServer: p.settings.ntpServer,
});
/** The codecs of `order` a vendor has, in its names. */
const mapCodecs = (order: readonly Codec[], names: Partial<Record<Codec, string>>): string[] =>
  order.flatMap((c) => (names[c] === undefined ? [] : [names[c]!]));

// ---- Grandstream: GXP/GRP phones and HT ATAs (P-values; keys and Opus code differ by family) ----

function grandstreamFamily(model: string | null): 'gxp17' | 'ht80' | 'gxp' {
  const m = (model ?? '').toUpperCase().replace(/^GRANDSTREAM\s+/, '');
  if (/^GXP17/.test(m)) return 'gxp17';
  if (/^HT8/.test(m)) return 'ht80';
  return 'gxp';
}
const GRANDSTREAM_SLOTS = ['P57', 'P58', 'P59', 'P60', 'P61', 'P62', 'P46', 'P98'];

const grandstream: Vendor = {
  id: 'grandstream',
  names: ['grandstream'],
  files: (mac) => [{ kind: 'grandstream', name: `cfg${mac}.xml`, template: 'grandstream.xml.tmpl', format: 'xml', contentType: XML }],
  view: (_kind, p, model) => {
    const family = grandstreamFamily(model);
    const codes = mapCodecs(p.codecs, { PCMU: '0', PCMA: '8', G722: '9', G729: '18', OPUS: family === 'gxp17' ? '125' : '123' });
    // Every slot must hold a codec: the last wanted one fills the rest.
    const slots = GRANDSTREAM_SLOTS.map((slot, i) => ({ slot, code: codes[Math.min(i, codes.length - 1)] ?? '0' }));
    const proxy = p.outboundProxy ?? (p.backup ? { host: p.domain, port: p.port } : null);
    return {
      mac: p.mac,
      label: p.label,
      displayName: p.displayName,
      server: `${p.domain}:${p.port}`,
      outboundProxy: hostPort(proxy),
      backupProxy: hostPort(p.backup),
      username: p.username,
      password: p.password,
      transport: { UDP: '0', TCP: '1', TLS: '2' }[p.transport],
      expiryMinutes: Math.max(1, Math.ceil(p.settings.registrationExpiry / 60)),
      codecSlots: slots,
      rtpPortMin: p.settings.rtpPortMin,
      dscpSipKey: family === 'ht80' ? 'P5046' : 'P1558',
      dscpRtpKey: family === 'ht80' ? 'P5050' : 'P1559',
      dscpSip: p.settings.dscpSip,
      dscpRtp: p.settings.dscpRtp,
      ntpServer: p.settings.ntpServer,
      posixTimeZone: p.utcOffsetMinutes === null ? null : posixTz(p.utcOffsetMinutes),
    };
  },
};

// ---- Cisco SPA / Linksys: flat profile (no Opus on SPA firmware) ----

const CISCO_CODECS: Partial<Record<Codec, string>> = { PCMU: 'G711u', PCMA: 'G711a', G722: 'G722', G729: 'G729a' };

const cisco: Vendor = {
  id: 'cisco',
  names: ['cisco', 'linksys', 'sipura'],
  files: (mac) => [{ kind: 'cisco', name: `spa${mac}.xml`, template: 'cisco-spa.xml.tmpl', format: 'xml', contentType: XML }],
  view: (_kind, p) => {
    const codecs = mapCodecs(p.codecs, CISCO_CODECS);
    const proxy = p.outboundProxy ?? (p.backup ? { host: p.domain, port: p.port } : null);
    return {
      displayName: p.displayName,
      username: p.username,
      password: p.password,
      server: `${p.domain}:${p.port}`,
      useOutboundProxy: proxy ? 'Yes' : 'No',
      outboundProxy: hostPort(proxy),
      backupProxy: hostPort(p.backup),
      transport: p.transport,
      expiry: p.settings.registrationExpiry,
      codec1: codecs[0] ?? 'G711u',
      codec2: codecs[1] ?? 'Unspecified',
      codec3: codecs[2] ?? 'Unspecified',
      codecEnables: (['G711u', 'G711a', 'G729a', 'G722'] as const).map((c) => ({ key: `${c}_Enable_1_`, value: codecs.includes(c) ? 'Yes' : 'No' })),
      rtpPortMin: p.settings.rtpPortMin,
      rtpPortMax: p.settings.rtpPortMax,
      sipTos: `0x${tos(p.settings.dscpSip).toString(16).padStart(2, '0')}`,
      rtpTos: `0x${tos(p.settings.dscpRtp).toString(16).padStart(2, '0')}`,
      ntpServer: p.settings.ntpServer,
      timeZone: p.utcOffsetMinutes === null ? null : gmt(p.utcOffsetMinutes),
    };
  },
};

// ---- Snom: XML settings; the file name carries the model (snomD785-000413AABBCC.htm) ----

const snom: Vendor = {
  id: 'snom',
  names: ['snom'],
  files: (mac, model) => {
    const m = (model ?? '').replace(/^snom\s*/i, '').replace(/[^A-Za-z0-9]/g, '') || 'D785';
    const base = `snom${m}-${mac.toUpperCase()}`;
    // The phone puts its own model in the name: any model is this device's file when the MAC is its.
    return ['htm', 'xml'].map((ext) => ({
      kind: 'snom' as const,
      name: `${base}.${ext}`,
      template: 'snom.xml.tmpl',
      format: 'xml' as const,
      contentType: XML,
      alsoMatches: new RegExp(`^snom[a-z0-9]{1,16}-${mac}\\.${ext}$`, 'i'),
    }));
  },
  view: (_kind, p) => {
    const via = p.outboundProxy ?? { host: p.domain, port: p.port };
    return {
      displayName: p.displayName,
      username: p.username,
      password: p.password,
      server: `${p.domain}:${p.port}`,
      // The transport is a parameter of the outbound setting (Snom has no transport key of its own).
      outbound: `${via.host}:${via.port};transport=${p.transport.toLowerCase()}`,
      expiry: p.settings.registrationExpiry,
      codecList: [...mapCodecs(p.codecs, { PCMU: 'pcmu', PCMA: 'pcma', G722: 'g722', G729: 'g729', OPUS: 'opus' }), 'telephone-event'].join(','),
      rtpPortMin: p.settings.rtpPortMin,
      rtpPortMax: p.settings.rtpPortMax,
      rtpTos: tos(p.settings.dscpRtp),
      sipTos: tos(p.settings.dscpSip),
      ntpServer: p.settings.ntpServer,
      utcOffsetSeconds: p.utcOffsetMinutes === null ? null : p.utcOffsetMinutes * 60,
    };
  },
};

// ---- Yealink: `key = value` lines after the mandatory version header; {mac}.cfg ----

const YEALINK_CODECS: Partial<Record<Codec, string>> = { PCMU: 'pcmu', PCMA: 'pcma', G722: 'g722', G729: 'g729', OPUS: 'opus' };
const yealinkTransport = { UDP: '0', TCP: '1', TLS: '2' } as const;

const yealink: Vendor = {
  id: 'yealink',
  names: ['yealink'],
  files: (mac) => [{ kind: 'mac-cfg', name: `${mac}.cfg`, template: 'yealink.cfg.tmpl', format: 'line', contentType: TEXT }],
  view: (_kind, p) => {
    const wanted = mapCodecs(p.codecs, YEALINK_CODECS);
    const transport = yealinkTransport[p.transport];
    return {
      ...lineView(p, transport),
      backup: p.backup ? { host: p.backup.host, port: p.backup.port, transport } : null,
      outboundProxy: p.outboundProxy,
      // Every codec the phone has is listed: the wanted ones enabled in order, the others disabled.
      codecs: Object.values(YEALINK_CODECS).map((name) => {
        const i = wanted.indexOf(name!);
        return { name: name!, enable: i >= 0 ? 1 : 0, priority: i >= 0 ? i + 1 : 0 };
      }),
      timeZone: p.utcOffsetMinutes === null ? null : hoursOffset(p.utcOffsetMinutes),
    };
  },
};

// ---- Polycom / Poly (UC Software): {mac}.cfg is the master file naming {mac}-sip.cfg, the settings ----

const POLYCOM_CODECS: Record<Codec, string> = { PCMU: 'G711_Mu', PCMA: 'G711_A', G722: 'G722', G729: 'G729_AB', OPUS: 'OPUS' };
const polycomTransport = { UDP: 'UDPOnly', TCP: 'TCPOnly', TLS: 'TLS' } as const;

const polycom: Vendor = {
  id: 'polycom',
  names: ['polycom', 'poly'],
  files: (mac) => [
    { kind: 'polycom-sip', name: `${mac}-sip.cfg`, template: 'polycom-sip.cfg.tmpl', format: 'xml', contentType: XML },
    { kind: 'mac-cfg', name: `${mac}.cfg`, template: 'polycom-master.cfg.tmpl', format: 'xml', contentType: XML },
  ],
  view: (kind, p) => {
    if (kind === 'mac-cfg') return { sipFile: `${p.mac}-sip.cfg` };
    const transport = polycomTransport[p.transport];
    return {
      ...lineView(p, transport),
      backup: p.backup ? { host: p.backup.host, port: p.backup.port, transport } : null,
      outboundProxy: p.outboundProxy ? { host: p.outboundProxy.host, port: p.outboundProxy.port, transport } : null,
      // A preference of 0 disables a codec.
      codecs: CODECS.map((c) => ({ key: POLYCOM_CODECS[c], preference: p.codecs.includes(c) ? p.codecs.indexOf(c) + 1 : 0 })),
      gmtOffsetSeconds: p.utcOffsetMinutes === null ? null : { seconds: p.utcOffsetMinutes * 60 },
    };
  },
};

// ---- Fanvil: `Name :value` lines in modules, CRLF, a version the phone compares; {mac}.cfg ----

const FANVIL_CODECS: Partial<Record<Codec, string>> = { PCMU: 'PCMU', PCMA: 'PCMA', G722: 'G722', G729: 'G729', OPUS: 'opus' };

/** `2.` and ten digits derived from the content: a phone applies a file whose version differs from the last one it applied. */
function fanvilVersion(p: PhoneConfig): string {
  const digest = createHash('sha256').update(JSON.stringify(p)).digest();
  return `2.${String(digest.readUIntBE(0, 6) % 1e10).padStart(10, '0')}`;
}

const fanvil: Vendor = {
  id: 'fanvil',
  names: ['fanvil'],
  files: (mac) => [{ kind: 'mac-cfg', name: `${mac}.cfg`, template: 'fanvil.cfg.tmpl', format: 'line', contentType: TEXT, lineEnding: 'crlf' }],
  view: (_kind, p) => ({
    ...lineView(p, { UDP: '0', TCP: '1', TLS: '2' }[p.transport]),
    version: fanvilVersion(p),
    outboundProxy: p.outboundProxy,
    backup: p.backup,
    codecMap: mapCodecs(p.codecs, FANVIL_CODECS).join(','),
    rtpPortCount: p.settings.rtpPortMax - p.settings.rtpPortMin + 1,
    // Fanvil counts its time zone in quarter hours east of UTC.
    timeZone: p.utcOffsetMinutes === null ? null : { quarters: p.utcOffsetMinutes / 15 },
  }),
};

export const VENDORS: readonly Vendor[] = [yealink, polycom, grandstream, cisco, snom, fanvil];

/** The vendor a device's manufacturer names (any of its words), or null. */
export function vendorFor(manufacturer: string | null): Vendor | null {
  if (!manufacturer) return null;
  const words = manufacturer.toLowerCase().split(/[^a-z0-9]+/);
  return VENDORS.find((v) => v.names.some((n) => words.includes(n))) ?? null;
}
