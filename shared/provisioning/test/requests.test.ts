import fc from 'fast-check';
import { compactMac, requestedFile, storedMac, userAgentAllows, userAgentMacs } from '../requests';

describe('file names phones ask for', () => {
  it('names each vendor\'s files, MAC in either case', () => {
    expect(requestedFile('001565aabbcc.cfg')).toEqual({ kind: 'mac-cfg', mac: '001565aabbcc', name: '001565aabbcc.cfg' });
    expect(requestedFile('0004F2AABBCC.cfg')?.mac).toBe('0004f2aabbcc');
    expect(requestedFile('0004f2aabbcc-sip.cfg')?.kind).toBe('polycom-sip');
    expect(requestedFile('cfg000b82aabbcc.xml')?.kind).toBe('grandstream');
    expect(requestedFile('spa88a1b2c3d4e5.xml')?.kind).toBe('cisco');
    expect(requestedFile('snomD785-000413AABBCC.htm')?.kind).toBe('snom');
    expect(requestedFile('snom720-000413aabbcc.xml')?.kind).toBe('snom');
  });

  it('names nothing else: other files, wrong lengths, path tricks, over-long names', () => {
    for (const name of ['', 'y000000000000.cfg', '001565aabbc.cfg', '001565aabbccd.cfg', '001565aabbcg.cfg', '../001565aabbcc.cfg', '001565aabbcc.cfg.bak', '001565aabbcc.xml', 'cfg001565aabbcc.cfg', 'snom-001565aabbcc.htm', `snom${'x'.repeat(17)}-001565aabbcc.htm`, `${'0'.repeat(60)}.cfg`, '001565aabbcc.cfg\u0000', 'SPA001565AABBCC.XML.txt']) {
      expect(requestedFile(name)).toBeNull();
    }
  });

  it('turns the stored MAC into the compact form and back', () => {
    expect(compactMac('00:15:65:aa:bb:cc')).toBe('001565aabbcc');
    expect(storedMac('001565AABBCC')).toBe('00:15:65:aa:bb:cc');
    fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
      const compact = Buffer.from(b).toString('hex');
      expect(compactMac(storedMac(compact))).toBe(compact);
    }));
  });
});

describe('MACs in a User-Agent', () => {
  it('reads the forms each vendor writes', () => {
    expect(userAgentMacs('Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc')).toEqual(['001565aabbcc']);
    expect(userAgentMacs('Yealink W60B 77.85.0.20 00-15-65-AA-BB-CC')).toEqual(['001565aabbcc']);
    expect(userAgentMacs('FileTransport PolycomVVX-VVX_410-UA/6.4.3.5018 (SN:0004f2aabbcc) Type/Application')).toEqual(['0004f2aabbcc']);
    expect(userAgentMacs('Grandstream Model HW GXP2170 SW 1.0.11.6 DevId 000b82aabbcc')).toEqual(['000b82aabbcc']);
    expect(userAgentMacs('Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00004 OpenSSL 000413AABBCC SXM:0 UXM:0)')).toEqual(['000413aabbcc']);
    expect(userAgentMacs('Fanvil X4U 2.12.6 0c383eaabbcc')).toEqual(['0c383eaabbcc']);
  });

  it('reads no MAC from a bare hex token elsewhere (a serial number is not a MAC), nor from nothing', () => {
    expect(userAgentMacs('Cisco/SPA504G-7.6.2c (88A1B2C3D4E5)(CCQ123)')).toEqual([]);
    expect(userAgentMacs('curl/8.0 001565aabbcc')).toEqual([]);
    expect(userAgentMacs(undefined)).toEqual([]);
    expect(userAgentMacs('')).toEqual([]);
    // Part of a longer hex run is not a MAC.
    expect(userAgentMacs('build 00:15:65:aa:bb:cc:dd')).toEqual([]);
  });

  it('allows a request whose User-Agent names no MAC or names this one; refuses one naming only others', () => {
    expect(userAgentAllows(undefined, '001565aabbcc')).toBe(true);
    expect(userAgentAllows('Cisco/SPA504G-7.6.2c', '001565aabbcc')).toBe(true);
    expect(userAgentAllows('Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc', '001565aabbcc')).toBe(true);
    expect(userAgentAllows('Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cd', '001565aabbcc')).toBe(false);
    expect(userAgentAllows('FileTransport PolycomVVX (SN:0004f2000001)', '0004f2000002')).toBe(false);
  });

  it('never throws and stays bounded on any User-Agent', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (ua) => {
      const macs = userAgentMacs(ua);
      for (const m of macs) expect(m).toMatch(/^[0-9a-f]{12}$/);
    }));
    const long = `${'00:15:65:aa:bb:cc '.repeat(40)}${'x'.repeat(10_000)}`;
    expect(userAgentMacs(long)).toEqual(['001565aabbcc']);
  });
});
