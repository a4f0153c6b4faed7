import fc from 'fast-check';
import { normalizeMacAddress } from '../mac-address';

describe('MAC address normalisation', () => {
  it('turns every common spelling into 00:15:65:00:00:01 form', () => {
    for (const s of ['00:15:65:00:00:01', '00-15-65-00-00-01', '001565000001', '0015.6500.0001', ' 00:15:65:00:00:01 ']) {
      expect(normalizeMacAddress(s)).toBe('00:15:65:00:00:01');
    }
    expect(normalizeMacAddress('AA:BB:CC:DD:EE:FF')).toBe('aa:bb:cc:dd:ee:ff');
  });

  it('rejects what is not a 48-bit MAC', () => {
    for (const s of ['', '00:15:65:00:00', '00:15:65:00:00:01:02', '00:15-65:00:00:01', 'zz:15:65:00:00:01', '0015656500001', '00.15.65.00.00.01', '00:15:65:00:00:1']) {
      expect(normalizeMacAddress(s)).toBeNull();
    }
  });

  it('is idempotent and spelling-independent for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.boolean(), (bytes, upper) => {
        const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
        const canonical = hex.join(':');
        const spell = (s: string): string => (upper ? s.toUpperCase() : s);
        const forms = [hex.join(':'), hex.join('-'), hex.join(''), `${hex[0]}${hex[1]}.${hex[2]}${hex[3]}.${hex[4]}${hex[5]}`].map(spell);
        for (const f of forms) expect(normalizeMacAddress(f)).toBe(canonical);
        expect(normalizeMacAddress(canonical)).toBe(canonical);
      }),
    );
  });
});
