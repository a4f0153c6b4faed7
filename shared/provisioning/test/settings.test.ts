import fc from 'fast-check';
import { AccountProvisioningPatch, applyPatch, CODECS, DEFAULT_SETTINGS, DeviceProvisioningPatch, effectiveSettings, settingsProblem } from '../settings';

describe('provisioning settings', () => {
  it('default to the seed reference', () => {
    expect(effectiveSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({ codecs: ['PCMU', 'PCMA', 'G729', 'OPUS'], rtpPortMin: 16000, rtpPortMax: 32000, dscpRtp: 46, registrationExpiry: 3600 });
  });

  it('combine defaults, the account\'s values and the device\'s overrides, in that order', () => {
    const s = effectiveSettings({ codecs: ['G722'], registrationExpiry: 600, ntpServer: 'ntp.example.com' }, { registrationExpiry: 120, transport: 'TLS' });
    expect(s).toMatchObject({ codecs: ['G722'], registrationExpiry: 120, ntpServer: 'ntp.example.com', transport: 'TLS', rtpPortMin: 16000 });
  });

  it('ignore stored values that no longer pass their rule, and device keys that are not overridable', () => {
    const s = effectiveSettings({ codecs: ['SPEEX'], dscpRtp: 99, rtpPortMin: 'x', transport: 'TCP' }, { dscpRtp: 10, backupServer: 'evil.example.com' });
    expect(s).toEqual(DEFAULT_SETTINGS);
    expect(effectiveSettings('not an object', [1, 2])).toEqual(DEFAULT_SETTINGS);
  });

  it('apply a patch: a value sets, null returns to the default, absent keeps', () => {
    const stored = applyPatch({ codecs: ['G722'], ntpServer: 'a.example.com' }, { codecs: null, dscpRtp: 40, ntpServer: undefined });
    expect(stored).toEqual({ ntpServer: 'a.example.com', dscpRtp: 40 });
  });

  it('validate PATCH bodies strictly', () => {
    expect(AccountProvisioningPatch.safeParse({ codecs: ['PCMU', 'OPUS'], utcOffset: '+05:30', backupServer: null }).success).toBe(true);
    for (const body of [{ codecs: [] }, { codecs: ['PCMU', 'PCMU'] }, { transport: 'UDP' }, { utcOffset: '+14:30' }, { utcOffset: '-12:15' }, { utcOffset: '+01:10' }, { rtpPortMin: 80 }, { dscpSip: -1 }, { ntpServer: 'a b' }, { registrationExpiry: 30 }, { extra: 1 }]) {
      expect(AccountProvisioningPatch.safeParse(body).success).toBe(false);
    }
    expect(DeviceProvisioningPatch.safeParse({ transport: 'TLS', codecs: null }).success).toBe(true);
    expect(DeviceProvisioningPatch.safeParse({ rtpPortMin: 20000 }).success).toBe(false);
  });

  it('refuse combinations that cannot work', () => {
    expect(settingsProblem(effectiveSettings({ rtpPortMin: 30000, rtpPortMax: 20000 }))?.field).toBe('rtpPortMax');
    expect(settingsProblem(effectiveSettings({ backupPort: 5070 }))?.field).toBe('backupPort');
    expect(settingsProblem(effectiveSettings({ backupServer: 'b.example.com', backupPort: 5070 }))).toBeNull();
  });

  it('any accepted codec list reaches the phone as given', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.constantFrom(...CODECS), { minLength: 1 }), (codecs) => {
      expect(AccountProvisioningPatch.parse({ codecs }).codecs).toEqual(codecs);
      expect(effectiveSettings({ codecs }).codecs).toEqual(codecs);
    }));
  });
});
