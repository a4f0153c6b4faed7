import type { NewEvent } from '../../shared/events/catalog';
import { RegistrationEvents } from '../registration-events';
import type { InboundRequest } from '../sip-types';

function request(headers: Record<string, string> = {}): InboundRequest {
  const byName = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'REGISTER', uri: 'sip:sip.example.com', header: (n) => byName.get(n.toLowerCase()), sourceAddress: '192.0.2.10', sourcePort: 5062, transport: 'udp', receivedOn: '192.0.2.1:5060' };
}

const subject = { deviceId: 'dev_sip_1', accountId: 'acc_1' };

function setUp(routine: 'changes' | 'all', unattributedPerS = 50) {
  const recorded: NewEvent[] = [];
  let now = 1_000_000;
  let limited = 0;
  const events = new RegistrationEvents({ record: (e) => recorded.push(e) }, { routine, unattributedPerS, now: () => now, onRateLimited: () => limited++ });
  return { events, recorded, advance: (ms: number) => (now += ms), limited: () => limited };
}

describe('registration events', () => {
  it('carries the source and User-Agent (cut to 128 characters) and nothing of the credentials', () => {
    const { events, recorded } = setUp('changes');
    const req = request({ 'User-Agent': `Yealink ${'x'.repeat(300)}`, Authorization: 'Digest username="u", response="secret"' });
    events.authFailed(req, subject, 'wrong_password', 'u@sip.example.com', false);
    expect(recorded).toHaveLength(1);
    const e = recorded[0]!;
    expect(e).toMatchObject({ type: 'auth_failed', accountId: 'acc_1', deviceId: 'dev_sip_1', at: 1_000_000 });
    expect(e.data).toMatchObject({ reason: 'wrong_password', sourceIp: '192.0.2.10', sourcePort: 5062, transport: 'udp' });
    expect(e.data.userAgent).toHaveLength(128);
    expect(e.data.sipUser).toBeUndefined(); // the device says who
    expect(JSON.stringify(e)).not.toMatch(/secret|Digest/);
  });

  it('records a plain refresh only with routine=all, and a refresh that changed its source always', () => {
    const changes = [
      { type: 'refreshed' as const, contact: 'sip:a@192.0.2.10', expires: 600, changed: [] },
      { type: 'refreshed' as const, contact: 'sip:b@192.0.2.10', expires: 600, changed: ['sourcePort'] },
      { type: 'registered' as const, contact: 'sip:c@192.0.2.10', expires: 600 },
    ];
    const quiet = setUp('changes');
    quiet.events.bindingChanges(request(), subject, changes);
    expect(quiet.recorded.map((e) => [e.type, e.data.contact, e.data.changed])).toEqual([
      ['refreshed', 'sip:b@192.0.2.10', ['sourcePort']],
      ['registered', 'sip:c@192.0.2.10', undefined],
    ]);
    const all = setUp('all');
    all.events.bindingChanges(request(), subject, changes);
    expect(all.recorded).toHaveLength(3);
    all.events.staleNonce(request(), subject);
    quiet.events.staleNonce(request(), subject);
    expect(all.recorded[3]!.data.reason).toBe('stale_nonce');
    expect(quiet.recorded).toHaveLength(2);
  });

  it('limits what a request that did not prove the password records on a device, and never what one that did', () => {
    const { events, recorded, advance, limited } = setUp('changes');
    for (let i = 0; i < 30; i++) events.authFailed(request(), subject, 'wrong_password', 'u@sip.example.com', false);
    expect(recorded).toHaveLength(20);
    expect(limited()).toBe(10);
    expect(events.rejected(request(), subject, 400, 'digest_uri_mismatch', false)).toBe(false);
    // Another device has its own budget; proven requests are never limited.
    expect(events.authFailed(request(), { deviceId: 'dev_sip_2', accountId: 'acc_1' }, 'wrong_password', 'v@sip.example.com', false)).toBe(true);
    for (let i = 0; i < 30; i++) expect(events.authFailed(request(), subject, 'device_inactive', 'u@sip.example.com', true, 403)).toBe(true);
    events.bindingChanges(request(), subject, [{ type: 'registered', contact: 'sip:a@192.0.2.10', expires: 60 }]);
    expect(recorded).toHaveLength(52);
    advance(3_000); // one more a minute's twentieth later
    expect(events.authFailed(request(), subject, 'wrong_password', 'u@sip.example.com', false)).toBe(true);
    expect(events.authFailed(request(), subject, 'wrong_password', 'u@sip.example.com', false)).toBe(false);
  });

  it('rate limits events of no account', () => {
    const { events, recorded, advance, limited } = setUp('changes', 3);
    for (let i = 0; i < 10; i++) events.authFailed(request(), null, 'unknown_user', `scan${i}@sip.example.com`, false);
    expect(recorded).toHaveLength(3);
    expect(limited()).toBe(7);
    expect(recorded[0]).toMatchObject({ accountId: null, deviceId: null, data: { sipUser: 'scan0@sip.example.com' } });
    advance(334); // a third of a second: one token back (3 a second)
    for (let i = 0; i < 5; i++) events.rejected(request(), null, 404, 'unknown_domain', false, '@other.example');
    expect(recorded).toHaveLength(4);
    advance(1_000); // a second later the bucket is full again
    for (let i = 0; i < 5; i++) events.rejected(request(), null, 404, 'unknown_domain', false, '@other.example');
    expect(recorded).toHaveLength(7);
    const none = setUp('changes', 0);
    none.events.rejected(request(), null, 400, 'invalid_headers', false);
    expect(none.recorded).toEqual([]);
  });
});
