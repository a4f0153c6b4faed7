import { SaxesParser } from 'saxes';

/**
 * Strict readers of the files the provisioning server writes, as a phone's firmware
 * would read them: each throws on anything its format does not allow, and returns
 * every setting as `key → value` so that a test can check that a value went where it
 * belongs and that nothing added a key. For tests only.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside the element (whitespace between child elements included). */
  text: string;
}

/** A well-formed XML document (XML 1.0, namespaces off) as a tree; a DOCTYPE or a second root is an error. */
export function parseXml(source: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let failure: Error | null = null;
  parser.on('error', (e) => {
    failure ??= e;
  });
  parser.on('doctype', () => {
    failure ??= new Error('DOCTYPE is not allowed');
  });
  parser.on('opentag', (tag) => {
    const el: XmlElement = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else if (root) failure ??= new Error('more than one root element');
    else root = el;
    stack.push(el);
  });
  parser.on('text', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.text += t;
  });
  parser.on('cdata', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(source).close();
  if (failure) throw failure;
  if (!root) throw new Error('no root element');
  return root;
}

function expectRoot(el: XmlElement, name: string): void {
  if (el.name !== name) throw new Error(`root is <${el.name}>, not <${name}>`);
}

function put(out: Map<string, string>, key: string, value: string): void {
  if (out.has(key)) throw new Error(`key ${key} appears twice`);
  out.set(key, value);
}

/** Children that are settings: elements without element children; their text is the value. */
function leafSettings(parent: XmlElement, out: Map<string, string>, keyOf: (el: XmlElement) => string): void {
  if (parent.text.trim() !== '') throw new Error(`text directly inside <${parent.name}>`);
  for (const el of parent.children) {
    if (el.children.length > 0) throw new Error(`<${el.name}> holds elements`);
    put(out, keyOf(el), el.text);
  }
}

/** Grandstream `<gs_provision><mac/><config version="1"><Pn>…</Pn>…</config></gs_provision>`: P-values, plus `mac`. */
export function readGrandstream(body: string): Map<string, string> {
  const root = parseXml(body);
  expectRoot(root, 'gs_provision');
  const names = root.children.map((c) => c.name).join(',');
  if (names !== 'mac,config') throw new Error(`gs_provision holds ${names}`);
  const out = new Map<string, string>([['mac', root.children[0]!.text]]);
  const config = root.children[1]!;
  leafSettings(config, out, (el) => {
    if (!/^P\d+$/.test(el.name)) throw new Error(`<${el.name}> is not a P-value`);
    return el.name;
  });
  return out;
}

/** Cisco SPA / Linksys `<flat-profile>` of leaf elements. */
export function readCiscoSpa(body: string): Map<string, string> {
  const root = parseXml(body);
  expectRoot(root, 'flat-profile');
  const out = new Map<string, string>();
  leafSettings(root, out, (el) => el.name);
  return out;
}

/** Snom `<settings><phone-settings>…</phone-settings></settings>`; a setting with `idx` is keyed `name[idx]`. */
export function readSnom(body: string): Map<string, string> {
  const root = parseXml(body);
  expectRoot(root, 'settings');
  if (root.children.length !== 1 || root.children[0]!.name !== 'phone-settings') throw new Error('settings must hold one <phone-settings>');
  const out = new Map<string, string>();
  leafSettings(root.children[0]!, out, (el) => (el.attributes.idx === undefined ? el.name : `${el.name}[${el.attributes.idx}]`));
  return out;
}

/** Polycom `<polycomConfig>`: every attribute of its child elements is a setting (and none may appear twice). */
export function readPolycomSettings(body: string): Map<string, string> {
  const root = parseXml(body);
  expectRoot(root, 'polycomConfig');
  const out = new Map<string, string>();
  for (const el of root.children) {
    if (el.children.length > 0 || el.text.trim() !== '') throw new Error(`<${el.name}> holds content`);
    for (const [k, v] of Object.entries(el.attributes)) put(out, k, v);
  }
  return out;
}

/** Polycom master configuration file: the attributes of `<APPLICATION/>`. */
export function readPolycomMaster(body: string): Map<string, string> {
  const root = parseXml(body);
  expectRoot(root, 'APPLICATION');
  if (root.children.length > 0 || root.text.trim() !== '') throw new Error('APPLICATION holds content');
  return new Map(Object.entries(root.attributes));
}

/**
 * Yealink `.cfg`: the first line exactly `#!version:1.0.0.1`, then blank lines, `#`
 * comments and `key = value` lines (value up to the end of the line, trimmed).
 */
export function readYealink(body: string): Map<string, string> {
  const lines = body.split('\n');
  if (lines[0] !== '#!version:1.0.0.1') throw new Error('missing the #!version:1.0.0.1 header');
  const out = new Map<string, string>();
  lines.slice(1).forEach((line, i) => {
    if (line.includes('\r')) throw new Error(`line ${i + 2}: carriage return`);
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*) = (.*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 2} is not key = value: ${JSON.stringify(line)}`);
    put(out, m[1]!, m[2]!.trim());
  });
  return out;
}

/**
 * Fanvil text `.cfg`: CRLF lines; the first `<<VOIP CONFIG FILE>>Version:2.nnnnnnnnnn`;
 * `<… MODULE>` section headers; `--Label--  :` sub-headers; `Name  :value` lines,
 * keyed `MODULE/Name`; ends with `<<END OF FILE>>`. The version is returned as `version`.
 */
export function readFanvil(body: string): Map<string, string> {
  if (!body.endsWith('\r\n')) throw new Error('the last line has no CRLF');
  const lines = body.slice(0, -2).split('\r\n');
  const out = new Map<string, string>();
  const header = /^<<VOIP CONFIG FILE>>Version:(2\.\d{10})$/.exec(lines[0] ?? '');
  if (!header) throw new Error('missing the <<VOIP CONFIG FILE>>Version: header');
  out.set('version', header[1]!);
  if (lines[lines.length - 1] !== '<<END OF FILE>>') throw new Error('missing <<END OF FILE>>');
  let section: string | null = null;
  lines.slice(1, -1).forEach((line, i) => {
    if (line.includes('\n') || line.includes('\r')) throw new Error(`line ${i + 2}: bare line feed or carriage return`);
    if (line === '') return;
    const sec = /^<([A-Z0-9 ]+ MODULE)>$/.exec(line);
    if (sec) {
      section = sec[1]!;
      return;
    }
    if (/^--[A-Za-z0-9 ]+--\s*:$/.test(line)) return;
    const m = /^([A-Za-z0-9][A-Za-z0-9 .-]*?)\s*:(.*)$/.exec(line);
    if (!m || section === null) throw new Error(`line ${i + 2} is not Name :value in a module: ${JSON.stringify(line)}`);
    put(out, `${section}/${m[1]!}`, m[2]!);
  });
  return out;
}

/** The reader for a vendor's file, by vendor id and file kind. */
export function readerFor(vendor: string, fileName: string): (body: string) => Map<string, string> {
  switch (vendor) {
    case 'yealink':
      return readYealink;
    case 'fanvil':
      return readFanvil;
    case 'grandstream':
      return readGrandstream;
    case 'cisco':
      return readCiscoSpa;
    case 'snom':
      return readSnom;
    case 'polycom':
      return fileName.endsWith('-sip.cfg') ? readPolycomSettings : readPolycomMaster;
    default:
      throw new Error(`no reader for ${vendor}`);
  }
}

/** What every vendor's file says about the line, read back in vendor-neutral terms. */
export interface LineSettings {
  username: string;
  password: string;
  displayName: string;
  /** The SIP server (registrar) host and port. */
  server: string;
  port: number;
  transport: 'UDP' | 'TCP' | 'TLS';
  /** Codecs offered, first choice first, in the API's names. */
  codecs: string[];
  rtpPortMin: number;
  /** Null for a vendor whose file sets only the first RTP port (Grandstream). */
  rtpPortMax: number | null;
}

const byValue = <T extends string>(table: Record<string, T>, value: string | undefined, what: string): T => {
  const v = value === undefined ? undefined : table[value];
  if (v === undefined) throw new Error(`${what}: unexpected ${JSON.stringify(value)}`);
  return v;
};
const need = (m: Map<string, string>, key: string): string => {
  const v = m.get(key);
  if (v === undefined) throw new Error(`no ${key}`);
  return v;
};
const int = (m: Map<string, string>, key: string): number => {
  const v = need(m, key);
  if (!/^\d+$/.test(v)) throw new Error(`${key} is not a number: ${v}`);
  return Number(v);
};
const hostPort = (v: string): { server: string; port: number } => {
  const m = /^([^:]+):(\d+)$/.exec(v);
  if (!m) throw new Error(`not host:port: ${v}`);
  return { server: m[1]!, port: Number(m[2]) };
};
const CODEC_NAMES: Record<string, string> = {
  pcmu: 'PCMU', pcma: 'PCMA', g722: 'G722', g729: 'G729', opus: 'OPUS',
  G711_Mu: 'PCMU', G711_A: 'PCMA', G729_AB: 'G729', OPUS: 'OPUS', G722: 'G722',
  G711u: 'PCMU', G711a: 'PCMA', G729a: 'G729', PCMU: 'PCMU', PCMA: 'PCMA', G729: 'G729',
};
const codecName = (v: string): string => byValue(CODEC_NAMES, v, 'codec');
/** Keys `prefix<name>suffix` whose value is a preference (0: off), in order of preference. */
const byPreference = (m: Map<string, string>, re: RegExp): string[] =>
  [...m]
    .flatMap(([k, v]) => {
      const hit = re.exec(k);
      return hit && Number(v) > 0 ? [{ name: codecName(hit[1]!), p: Number(v) }] : [];
    })
    .sort((a, b) => a.p - b.p)
    .map((c) => c.name);

const TRANSPORT_012 = { '0': 'UDP', '1': 'TCP', '2': 'TLS' } as const;

/** The line's settings in a vendor's (main) file, read with that vendor's reader. */
export function lineSettings(vendor: string, body: string): LineSettings {
  switch (vendor) {
    case 'yealink': {
      const m = readYealink(body);
      const enabled = [...m].filter(([k, v]) => /^account\.1\.codec\.[a-z0-9]+\.enable$/.test(k) && v === '1').map(([k]) => k.split('.')[3]!);
      return {
        username: need(m, 'account.1.user_name'),
        password: need(m, 'account.1.password'),
        displayName: need(m, 'account.1.display_name'),
        server: need(m, 'account.1.sip_server.1.address'),
        port: int(m, 'account.1.sip_server.1.port'),
        transport: byValue(TRANSPORT_012, m.get('account.1.sip_server.1.transport_type'), 'transport_type'),
        codecs: enabled.sort((a, b) => int(m, `account.1.codec.${a}.priority`) - int(m, `account.1.codec.${b}.priority`)).map(codecName),
        rtpPortMin: int(m, 'network.port.min_rtpport'),
        rtpPortMax: int(m, 'network.port.max_rtpport'),
      };
    }
    case 'fanvil': {
      const m = readFanvil(body);
      const sip = (k: string): string => need(m, `SIP CONFIG MODULE/SIP1 ${k}`);
      return {
        username: sip('Register User'),
        password: sip('Register Pswd'),
        displayName: sip('Display Name'),
        server: sip('Register Addr'),
        port: Number(sip('Register Port')),
        transport: byValue(TRANSPORT_012, sip('Transport'), 'Transport'),
        codecs: sip('VoiceCodecMap').split(',').map(codecName),
        rtpPortMin: int(m, 'MM CONFIG MODULE/RTP Initial Port'),
        rtpPortMax: int(m, 'MM CONFIG MODULE/RTP Initial Port') + int(m, 'MM CONFIG MODULE/RTP Port Quantity') - 1,
      };
    }
    case 'grandstream': {
      const m = readGrandstream(body);
      const codes: Record<string, string> = { '0': 'PCMU', '8': 'PCMA', '9': 'G722', '18': 'G729', '123': 'OPUS', '125': 'OPUS' };
      const slots = ['P57', 'P58', 'P59', 'P60', 'P61', 'P62', 'P46', 'P98'].map((k) => byValue(codes, m.get(k), k));
      return {
        username: need(m, 'P35'),
        password: need(m, 'P34'),
        displayName: need(m, 'P3'),
        ...hostPort(need(m, 'P47')),
        transport: byValue(TRANSPORT_012, m.get('P130'), 'P130'),
        // A repeated codec fills the remaining slots.
        codecs: [...new Set(slots)],
        rtpPortMin: int(m, 'P39'),
        rtpPortMax: null,
      };
    }
    case 'cisco': {
      const m = readCiscoSpa(body);
      return {
        username: need(m, 'User_ID_1_'),
        password: need(m, 'Password_1_'),
        displayName: need(m, 'Display_Name_1_'),
        ...hostPort(need(m, 'Proxy_1_')),
        transport: byValue({ UDP: 'UDP', TCP: 'TCP', TLS: 'TLS' } as const, m.get('SIP_Transport_1_'), 'SIP_Transport_1_'),
        codecs: ['Preferred_Codec_1_', 'Second_Preferred_Codec_1_', 'Third_Preferred_Codec_1_'].map((k) => need(m, k)).filter((c) => c !== 'Unspecified').map(codecName),
        rtpPortMin: int(m, 'RTP_Port_Min'),
        rtpPortMax: int(m, 'RTP_Port_Max'),
      };
    }
    case 'snom': {
      const m = readSnom(body);
      const transport = /;transport=(udp|tcp|tls)$/.exec(need(m, 'user_outbound[1]'));
      if (!transport) throw new Error('user_outbound names no transport');
      return {
        username: need(m, 'user_name[1]'),
        password: need(m, 'user_pass[1]'),
        displayName: need(m, 'user_realname[1]'),
        ...hostPort(need(m, 'user_host[1]')),
        transport: transport[1]!.toUpperCase() as LineSettings['transport'],
        codecs: need(m, 'codec_priority_list[1]').split(',').filter((c) => c !== 'telephone-event').map(codecName),
        rtpPortMin: int(m, 'rtp_port_start'),
        rtpPortMax: int(m, 'rtp_port_end'),
      };
    }
    case 'polycom': {
      const m = readPolycomSettings(body);
      return {
        username: need(m, 'reg.1.auth.userId'),
        password: need(m, 'reg.1.auth.password'),
        displayName: need(m, 'reg.1.displayName'),
        server: need(m, 'reg.1.server.1.address'),
        port: int(m, 'reg.1.server.1.port'),
        transport: byValue({ UDPOnly: 'UDP', TCPOnly: 'TCP', TLS: 'TLS' } as const, m.get('reg.1.server.1.transport'), 'transport'),
        codecs: byPreference(m, /^voice\.codecPref\.([A-Za-z0-9_]+)$/),
        rtpPortMin: int(m, 'tcpIpApp.port.rtp.mediaPortRangeStart'),
        rtpPortMax: int(m, 'tcpIpApp.port.rtp.mediaPortRangeEnd'),
      };
    }
    default:
      throw new Error(`no reader for ${vendor}`);
  }
}
