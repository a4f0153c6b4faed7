import fc from 'fast-check';
import { deviceFiles, fileFor, renderVendorFile } from '../files';
import type { ProvisioningRecord } from '../provisioning-store';
import { requestedFile } from '../requests';
import type { Codec } from '../settings';
import { VENDORS, vendorFor } from '../vendors';
import type { SipDefaults } from '../../sip-connection';
import { lineSettings, readerFor, readFanvil, readPolycomMaster } from '../../testing/provisioning-parsers';

const DEFAULTS: SipDefaults = { SIP_PUBLIC_PORT: 5060, SIP_TRANSPORT: 'UDP' };
const MANUFACTURERS: Record<string, string> = {
  yealink: 'Yealink',
  polycom: 'Polycom',
  grandstream: 'Grandstream',
  cisco: 'Cisco',
  snom: 'Snom',
  fanvil: 'Fanvil',
};
const MODELS: Record<string, string> = { yealink: 'T46S', polycom: 'VVX 410', grandstream: 'GXP2170', cisco: 'SPA504G', snom: 'D785', fanvil: 'X4U' };
/** The codecs each vendor's phones have, and how many preferences its file holds. */
const HAS: Record<string, { codecs: readonly Codec[]; slots: number }> = {
  yealink: { codecs: ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'], slots: 5 },
  polycom: { codecs: ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'], slots: 5 },
  grandstream: { codecs: ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'], slots: 8 },
  cisco: { codecs: ['PCMU', 'PCMA', 'G722', 'G729'], slots: 3 },
  snom: { codecs: ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'], slots: 5 },
  fanvil: { codecs: ['PCMU', 'PCMA', 'G722', 'G729', 'OPUS'], slots: 5 },
};

function record(vendor: string, over: Partial<ProvisioningRecord> = {}): ProvisioningRecord {
  return {
    deviceId: '11111111-1111-4111-8111-111111111111',
    accountId: '22222222-2222-4222-8222-222222222222',
    name: 'Front desk',
    model: MODELS[vendor]!,
    manufacturer: MANUFACTURERS[vendor]!,
    macAddress: '00:15:65:aa:bb:cc',
    sipUsername: 'frontdesk1',
    sipDomain: 'sip.example.com',
    displayName: 'Reception',
    status: 'active',
    passwordEnc: 'unused',
    account: { sipServer: null, sipPort: null, outboundProxy: null, transportProtocol: null },
    httpUsername: 'prov-0123456789abcdef',
    accountSettings: {},
    deviceSettings: {},
    tokenHash: null,
    ...over,
  };
}

/** The vendor's main file (the one holding the line) for a record. */
function mainFile(vendor: string, rec: ProvisioningRecord, password = 'Secret-123'): { name: string; body: string } {
  const found = deviceFiles(rec)!;
  expect(found.vendor.id).toBe(vendor);
  const file = renderVendorFile(found.vendor, found.files[0]!, rec, password, DEFAULTS);
  return { name: file.name, body: file.body };
}

const vendorIds = VENDORS.map((v) => v.id);

describe('vendor files read back with a strict reader for their format', () => {
  it.each(vendorIds)('%s: line, server, transport, codec order and RTP range are where the phone reads them', (vendor) => {
    for (const transport of ['UDP', 'TCP', 'TLS'] as const) {
      const codecs: Codec[] = ['G722', 'PCMA', 'OPUS', 'PCMU'];
      const rec = record(vendor, { deviceSettings: { transport, codecs }, accountSettings: { rtpPortMin: 20000, rtpPortMax: 20999 } });
      const { name, body } = mainFile(vendor, rec);
      const line = lineSettings(vendor, body);
      const wanted = codecs.filter((c) => HAS[vendor]!.codecs.includes(c)).slice(0, HAS[vendor]!.slots);
      expect(line).toEqual({
        username: 'frontdesk1',
        password: 'Secret-123',
        displayName: 'Reception',
        server: 'sip.example.com',
        port: 5060,
        transport,
        codecs: wanted,
        rtpPortMin: 20000,
        rtpPortMax: vendor === 'grandstream' ? null : 20999,
      });
      expect(name.toLowerCase()).toContain('001565aabbcc');
    }
  });

  it.each(vendorIds)('%s: the defaults are the seed reference (G.711 µ, A, G.729, Opus; RTP 16000–32000; port 5060)', (vendor) => {
    const line = lineSettings(vendor, mainFile(vendor, record(vendor)).body);
    expect(line.codecs).toEqual((['PCMU', 'PCMA', 'G729', 'OPUS'] as Codec[]).filter((c) => HAS[vendor]!.codecs.includes(c)).slice(0, HAS[vendor]!.slots));
    expect(line.rtpPortMin).toBe(16000);
    expect([null, 32000]).toContain(line.rtpPortMax);
    expect(line.port).toBe(5060);
    expect(line.transport).toBe('UDP');
  });

  it('an account\'s own server and port go to the phone, and the domain stays its registrar when the server differs', () => {
    const rec = record('yealink', { account: { sipServer: 'edge.example.net', sipPort: 5080, outboundProxy: null, transportProtocol: 'TCP' } });
    const { body } = mainFile('yealink', rec);
    const m = readerFor('yealink', 'x.cfg')(body);
    expect(m.get('account.1.sip_server.1.address')).toBe('sip.example.com');
    expect(m.get('account.1.sip_server.1.port')).toBe('5080');
    expect(m.get('account.1.sip_server.1.transport_type')).toBe('1');
    expect(m.get('account.1.outbound_proxy_enable')).toBe('1');
    expect(m.get('account.1.outbound_proxy.1.address')).toBe('edge.example.net');
  });

  it('DSCP, expiry, backup, NTP and time zone are written in each vendor\'s units', () => {
    const settings = { dscpRtp: 46, dscpSip: 24, registrationExpiry: 600, backupServer: 'backup.example.com', backupPort: 5070, ntpServer: 'ntp.example.com', utcOffset: '-05:30' };
    const read = (vendor: string): Map<string, string> => {
      const { name, body } = mainFile(vendor, record(vendor, { accountSettings: settings }));
      return readerFor(vendor, name)(body);
    };
    const y = read('yealink');
    expect([y.get('network.qos.audiotos'), y.get('network.qos.signaltos'), y.get('account.1.sip_server.1.expires')]).toEqual(['46', '24', '600']);
    expect([y.get('account.1.sip_server.2.address'), y.get('account.1.sip_server.2.port'), y.get('local_time.ntp_server1'), y.get('local_time.time_zone')]).toEqual(['backup.example.com', '5070', 'ntp.example.com', '-5:30']);
    const p = read('polycom');
    expect([p.get('qos.ip.rtp.dscp'), p.get('qos.ip.callControl.dscp'), p.get('reg.1.server.1.expires'), p.get('reg.1.server.2.address'), p.get('tcpIpApp.sntp.gmtOffset')]).toEqual(['46', '24', '600', 'backup.example.com', String(-330 * 60)]);
    const g = read('grandstream');
    expect([g.get('P1559'), g.get('P1558'), g.get('P32'), g.get('P2333'), g.get('P30'), g.get('P246')]).toEqual(['46', '24', '10', 'backup.example.com:5070', 'ntp.example.com', 'UTC+5:30']);
    const c = read('cisco');
    // ToS byte: DSCP shifted left by two (46 → 0xb8, 24 → 0x60).
    expect([c.get('RTP_TOS_DiffServ_Value_1_'), c.get('SIP_TOS_DiffServ_Value_1_'), c.get('Register_Expires_1_'), c.get('Alternate_Outbound_Proxy_1_'), c.get('Time_Zone')]).toEqual(['0xb8', '0x60', '600', 'backup.example.com:5070', 'GMT-05:30']);
    const s = read('snom');
    expect([s.get('codec_tos'), s.get('signaling_tos'), s.get('user_expiry[1]'), s.get('utc_offset'), s.get('ntp_server')]).toEqual(['184', '96', '600', String(-330 * 60), 'ntp.example.com']);
    const f = read('fanvil');
    expect([f.get('QOS CONFIG MODULE/Voice DSCP'), f.get('QOS CONFIG MODULE/Singalling DSCP'), f.get('SIP CONFIG MODULE/SIP1 Register TTL'), f.get('SIP CONFIG MODULE/SIP1 Backup Addr'), f.get('GLOBAL CONFIG MODULE/Time Zone')]).toEqual(['46', '24', '600', 'backup.example.com', '-22']);
  });

  it('settings left unset write no NTP, time zone or backup keys', () => {
    for (const vendor of vendorIds) {
      const { name, body } = mainFile(vendor, record(vendor));
      const m = readerFor(vendor, name)(body);
      expect([...m.keys()].filter((k) => /ntp|time_?zone|P30$|P64|P246|gmtOffset|utc_offset|server\.2\.|Backup/i.test(k))).toEqual([]);
      // Keys that are always written are empty.
      for (const k of ['P2333', 'Alternate_Outbound_Proxy_1_']) if (m.has(k)) expect(m.get(k)).toBe('');
    }
  });

  it('Polycom\'s master file names the settings file, and both are served by name', () => {
    const rec = record('polycom');
    const master = fileFor(rec, requestedFile('001565aabbcc.cfg')!, () => 'pw', DEFAULTS);
    expect(master.kind).toBe('ok');
    if (master.kind !== 'ok') return;
    expect(readPolycomMaster(master.file.body).get('CONFIG_FILES')).toBe('001565aabbcc-sip.cfg');
    const sip = fileFor(rec, requestedFile('001565AABBCC-sip.cfg')!, () => 'pw', DEFAULTS);
    expect(sip.kind === 'ok' && lineSettings('polycom', sip.file.body).password).toBe('pw');
  });

  it('a file of another vendor\'s name is not served, and an unknown manufacturer gets nothing', () => {
    expect(fileFor(record('yealink'), requestedFile('cfg001565aabbcc.xml')!, () => 'pw', DEFAULTS)).toEqual({ kind: 'not_for_vendor', vendor: 'yealink' });
    expect(fileFor(record('yealink'), requestedFile('001565aabbcc-sip.cfg')!, () => 'pw', DEFAULTS)).toEqual({ kind: 'not_for_vendor', vendor: 'yealink' });
    let asked = false;
    expect(fileFor(record('yealink', { manufacturer: 'Acme Phones' }), requestedFile('001565aabbcc.cfg')!, () => { asked = true; return 'pw'; }, DEFAULTS)).toEqual({ kind: 'unknown_manufacturer' });
    expect(asked).toBe(false);
    expect(fileFor(record('yealink', { manufacturer: null }), requestedFile('001565aabbcc.cfg')!, () => 'pw', DEFAULTS)).toEqual({ kind: 'unknown_manufacturer' });
  });

  it('Snom\'s file is served whichever model the phone puts in the name, with .htm or .xml', () => {
    const rec = record('snom');
    for (const name of ['snomD785-001565AABBCC.htm', 'snom720-001565aabbcc.xml', 'snomD385-001565AABBCC.xml']) {
      expect(fileFor(rec, requestedFile(name)!, () => 'pw', DEFAULTS).kind).toBe('ok');
    }
    expect(fileFor(rec, requestedFile('snomD785-001565AABBCD.htm')!, () => 'pw', DEFAULTS).kind).toBe('not_for_vendor');
  });

  it('the manufacturer picks the vendor by any of its words, case aside', () => {
    expect(vendorFor('Yealink Network Technology')?.id).toBe('yealink');
    expect(vendorFor('Poly')?.id).toBe('polycom');
    expect(vendorFor('LINKSYS')?.id).toBe('cisco');
    expect(vendorFor('Grandstream Networks')?.id).toBe('grandstream');
    expect(vendorFor('snom technology')?.id).toBe('snom');
    expect(vendorFor('fanvil')?.id).toBe('fanvil');
    expect(vendorFor('Polyphone')).toBeNull();
    expect(vendorFor('')).toBeNull();
  });

  it('Grandstream\'s keys follow the model family (Opus code, DSCP keys of the HT ATAs)', () => {
    const read = (model: string): Map<string, string> => readerFor('grandstream', '')(mainFile('grandstream', record('grandstream', { model, deviceSettings: { codecs: ['OPUS'] } })).body);
    expect(read('GXP1760').get('P57')).toBe('125');
    expect(read('GXP2170').get('P57')).toBe('123');
    const ht = read('HT802');
    expect([ht.has('P5050'), ht.has('P1559')]).toEqual([true, false]);
  });

  it('Fanvil\'s version changes with the content and only with it', () => {
    const v = (rec: ProvisioningRecord, pw = 'pw'): string => readFanvil(mainFile('fanvil', rec, pw).body).get('version')!;
    expect(v(record('fanvil'))).toBe(v(record('fanvil')));
    expect(v(record('fanvil'), 'other')).not.toBe(v(record('fanvil')));
    expect(v(record('fanvil', { displayName: 'Other' }))).not.toBe(v(record('fanvil')));
  });
});

// Values a user controls reach every file: a display name, and a device name when it has none.
const HOSTILE = [
  'x\naccount.1.password=y',
  'x\r\nSIP1 Register Pswd :y',
  '</P3><P34>y</P34><P3>',
  '</x><evil>',
  '" reg.1.auth.password="y',
  "' onload='y",
  'a & b <c> &amp; &#0;',
  'nul\u0000byte',
  ']]><![CDATA[x',
  '<!DOCTYPE x [<!ENTITY e "y">]>&e;',
  '\u0085next\u2028line\u2029para',
  '\ud800lone surrogate',
  '\ufffe\uffff',
  '#!version:1.0.0.1',
  '<<END OF FILE>>',
  '<SIP CONFIG MODULE>',
];

/** What a value reads back as: controls (line breaks included) are spaces, a lone surrogate U+FFFD; line formats trim. */
const expectedText = (vendor: string, v: string): string => {
  // eslint-disable-next-line no-control-regex -- the controls a value loses
  const clean = v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]/g, ' ').replace(/\p{Surrogate}/gu, '\uFFFD');
  return vendor === 'yealink' ? clean.trim() : clean;
};

function keysOf(vendor: string, rec: ProvisioningRecord, password: string): { keys: string[]; line: ReturnType<typeof lineSettings> } {
  const { name, body } = mainFile(vendor, rec, password);
  const keys = [...readerFor(vendor, name)(body).keys()].filter((k) => k !== 'version').sort();
  return { keys, line: lineSettings(vendor, body) };
}

describe('values are escaped for each format', () => {
  it.each(vendorIds)('%s: newlines, quotes, <, &, NUL and markup in a display name add no key and read back as text', (vendor) => {
    const plain = keysOf(vendor, record(vendor), 'Secret-123').keys;
    for (const hostile of HOSTILE) {
      const { keys, line } = keysOf(vendor, record(vendor, { displayName: hostile }), 'Secret-123');
      expect(keys).toEqual(plain);
      expect(line.displayName).toBe(expectedText(vendor, hostile));
      expect(line.password).toBe('Secret-123');
    }
  });

  it.each(vendorIds)('%s: a display name like `x\\naccount.1.password=y` leaves the password alone', (vendor) => {
    const { line } = keysOf(vendor, record(vendor, { displayName: 'x\naccount.1.password=y' }), 'Real-Password');
    expect(line.password).toBe('Real-Password');
  });

  it.each(vendorIds)('%s: any string in any field (fuzz) gives a file the strict reader accepts, with the same keys', (vendor) => {
    const plain = keysOf(vendor, record(vendor), 'pw').keys;
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...HOSTILE), fc.string({ unit: fc.constantFrom('\n', '\r', '"', "'", '<', '>', '&', ';', ':', '=', '#', ' ', '\u0000', 'a'), maxLength: 20 }));
    fc.assert(
      fc.property(text, text, text, text, (displayName, name, username, password) => {
        const { keys, line } = keysOf(vendor, record(vendor, { displayName, name, sipUsername: username }), password);
        expect(keys).toEqual(plain);
        expect(line.displayName).toBe(expectedText(vendor, displayName));
        expect(line.password).toBe(expectedText(vendor, password));
      }),
      { numRuns: 300 },
    );
  });
});
