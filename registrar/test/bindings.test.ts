import type { Binding } from '../../shared/registration-store';
import {
  canonicalAor,
  contactsForResponse,
  parseContactRequest,
  planRegistration,
  RequestContext,
  selectExpiry,
  sipDate,
} from '../bindings';
import { BadRequestError, IntervalTooBriefError, OutOfOrderError, TooManyBindingsError } from '../errors';

const policy = { minExpires: 60, defaultExpires: 3600, maxExpires: 7200 };
const now = 1_700_000_000_000;

function ctx(extra: Partial<RequestContext> = {}): RequestContext {
  return {
    callId: 'call-1', cseq: 2, sourceAddress: '192.0.2.10', sourcePort: 5062, transport: 'udp',
    receivedOn: '127.0.0.1:5060', userAgent: 'Phone/1', ...extra,
  };
}

function stored(id: string, extra: Partial<Binding> = {}): Binding {
  return {
    id, uri: id, params: '', expiresAt: now + 100_000, callId: 'call-1', cseq: 5,
    sourceAddress: '192.0.2.10', sourcePort: 5062, transport: 'udp', receivedOn: '127.0.0.1:5060',
    userAgent: 'Phone/1', registeredAt: now - 1_000, ...extra,
  };
}

describe('AOR canonicalisation (RFC 3261 §10.3 step 5)', () => {
  it('drops URI parameters, unescapes the user and lower-cases the host', () => {
    expect(canonicalAor('"Alice" <sip:al%69ce@Example.COM;transport=tcp>;tag=1')).toEqual({ user: 'alice', host: 'example.com' });
    expect(canonicalAor('sip:Bob@example.com:5060;user=phone')).toEqual({ user: 'Bob', host: 'example.com' });
  });

  it('refuses a To without a SIP user', () => {
    expect(canonicalAor('<sip:example.com>')).toBeNull();
    expect(canonicalAor('<tel:+15551234>')).toBeNull();
    expect(canonicalAor(undefined)).toBeNull();
  });
});

describe('expiry selection (RFC 3261 §10.3 step 7)', () => {
  it('takes the parameter, else the header, else the default', () => {
    expect(selectExpiry(120, 300, policy)).toBe(120);
    expect(selectExpiry(undefined, 300, policy)).toBe(300);
    expect(selectExpiry(undefined, undefined, policy)).toBe(3600);
  });

  it('keeps 0 (removal), lowers values above the maximum, and refuses short ones with 423 + Min-Expires', () => {
    expect(selectExpiry(0, 3600, policy)).toBe(0);
    expect(selectExpiry(99_999, undefined, policy)).toBe(7200);
    expect(() => selectExpiry(30, undefined, policy)).toThrow(IntervalTooBriefError);
    try {
      selectExpiry(59, undefined, policy);
    } catch (err) {
      expect((err as IntervalTooBriefError).headers).toEqual([['Min-Expires', '60']]);
      expect((err as IntervalTooBriefError).status).toBe(423);
    }
  });

  it('never answers 423 for an hour or more, even with a larger configured minimum', () => {
    const strict = { ...policy, minExpires: 7200 };
    expect(selectExpiry(3600, undefined, strict)).toBe(3600);
    expect(() => selectExpiry(3599, undefined, strict)).toThrow(IntervalTooBriefError);
  });
});

describe('Contact parsing (RFC 3261 §10.3 step 6, §20.10)', () => {
  it('treats a missing Contact as a query', () => {
    expect(parseContactRequest(undefined, '3600', policy)).toEqual({ kind: 'query' });
  });

  it('accepts "*" only alone and with Expires: 0', () => {
    expect(parseContactRequest('*', '0', policy)).toEqual({ kind: 'wildcard' });
    expect(() => parseContactRequest('*', '3600', policy)).toThrow(BadRequestError);
    expect(() => parseContactRequest('*', undefined, policy)).toThrow(BadRequestError);
    expect(() => parseContactRequest('*, <sip:a@192.0.2.1>', '0', policy)).toThrow(BadRequestError);
  });

  it('reads several contacts with their own expiry and keeps URI and parameters exactly as sent', () => {
    const req = parseContactRequest('"A, B" <sip:a@192.0.2.1:5062;transport=TCP>;expires=120;q=0.5, sip:b@192.0.2.2;Foo=Bar', '300', policy);
    expect(req.kind).toBe('update');
    if (req.kind !== 'update') return;
    expect(req.contacts).toEqual([
      { id: 'sip:a@192.0.2.1:5062;transport=tcp', uri: 'sip:a@192.0.2.1:5062;transport=TCP', params: ';q=0.5', expires: 120, q: 0.5 },
      { id: 'sip:b@192.0.2.2', uri: 'sip:b@192.0.2.2', params: ';Foo=Bar', expires: 300 },
    ]);
  });

  it('identifies RFC 5626 contacts by instance and reg-id', () => {
    const req = parseContactRequest('<sip:a@192.0.2.1:5062;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1', '600', policy);
    if (req.kind !== 'update') throw new Error('expected an update');
    expect(req.contacts[0]).toMatchObject({ id: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>|1', regId: 1, instance: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>' });
  });

  it('refuses malformed contacts with 400', () => {
    expect(() => parseContactRequest('<sip:a@192.0.2.1', '60', policy)).toThrow(BadRequestError);
    expect(() => parseContactRequest('<mailto:a@example.com>', '60', policy)).toThrow(BadRequestError);
    expect(() => parseContactRequest(`<sip:${'a'.repeat(600)}@192.0.2.1>`, '60', policy)).toThrow(BadRequestError);
    // Too long before any parsing, whatever its parameters hold.
    expect(() => parseContactRequest(`<sip:a@192.0.2.1>;a${' '.repeat(5000)}=1`, '60', policy)).toThrow(/element is longer than 1024 characters/);
  });

  it('treats malformed expiry values as absent (RFC 3261 §20.10, §20.19) and lowers huge ones', () => {
    const expiries = (contact: string, header: string | undefined): number[] => {
      const req = parseContactRequest(contact, header, policy);
      if (req.kind !== 'update') throw new Error('expected an update');
      return req.contacts.map((c) => c.expires);
    };
    expect(expiries('<sip:a@192.0.2.1>;expires=soon', '600')).toEqual([600]); // the header applies
    expect(expiries('<sip:a@192.0.2.1>;expires', undefined)).toEqual([3600]); // the default applies
    expect(expiries('<sip:a@192.0.2.1>;expires=600', 'Thu, 01 Dec 2040 16:00:00 GMT')).toEqual([600]);
    expect(expiries('<sip:a@192.0.2.1>', 'Thu, 01 Dec 2040 16:00:00 GMT')).toEqual([3600]);
    expect(expiries('<sip:a@192.0.2.1>', '-1')).toEqual([3600]);
    expect(expiries('<sip:a@192.0.2.1>;expires=000000000000000000000120', undefined)).toEqual([120]);
    expect(expiries('<sip:a@192.0.2.1>;expires=123456789012345678901', undefined)).toEqual([7200]); // 2^32-1, then the maximum
    // A wildcard still needs a well-formed Expires: 0.
    expect(() => parseContactRequest('*', 'zero', policy)).toThrow(BadRequestError);
  });

  it('keeps contacts that differ in a URI parameter or header apart, and matches the same contact however its parameters are written', () => {
    const ids = (header: string): string[] => {
      const req = parseContactRequest(header, '600', policy);
      if (req.kind !== 'update') throw new Error('expected an update');
      return req.contacts.map((c) => c.id);
    };
    const [line1, line2] = ids('<sip:a@192.0.2.1;line=1>, <sip:a@192.0.2.1;line=2>');
    expect(line1).not.toBe(line2);
    expect(ids('<sip:a@192.0.2.1;Line=ABC;transport=udp>')).toEqual(ids('<sip:a@192.0.2.1;transport=UDP;line=abc>'));
    expect(ids('<sip:a@192.0.2.1?X=1>')[0]).not.toBe(ids('<sip:a@192.0.2.1?X=2>')[0]);
    expect(ids('<sip:a@192.0.2.1;lr>')[0]).not.toBe(ids('<sip:a@192.0.2.1>')[0]);
    // '?' is allowed in the user part (RFC 3261 §25.1): the host is after the '@'.
    expect(ids('<sip:a?x@192.0.2.1>, <sip:a?y@192.0.2.9>')).toEqual(['sip:a?x@192.0.2.1', 'sip:a?y@192.0.2.9']);
    expect(canonicalAor('<sip:alice?z@Example.com>')).toEqual({ user: 'alice?z', host: 'example.com' });
  });

  it('echoes the parameters around a removed expires exactly, trailing blanks dropped', () => {
    const req = parseContactRequest(`<sip:a@192.0.2.1>;a="x  y";expires=600  ;b${' '.repeat(300)};c=1`, undefined, policy);
    if (req.kind !== 'update') throw new Error('expected an update');
    expect(req.contacts[0]).toMatchObject({ params: ';a="x  y";b;c=1', expires: 600 });
  });
});

describe('binding updates (RFC 3261 §10.3 step 7, RFC 5626 §6)', () => {
  const limits = { maxBindings: 3, policy: 'drop-oldest' as const };

  function update(header: string, expires = '3600') {
    return parseContactRequest(header, expires, policy);
  }

  it('adds a new binding and reports it registered', () => {
    const plan = planRegistration([], update('<sip:a@192.0.2.1>'), ctx(), now, limits);
    expect(plan.upserts).toHaveLength(1);
    expect(plan.upserts[0]).toMatchObject({ id: 'sip:a@192.0.2.1', expiresAt: now + 3_600_000, callId: 'call-1', cseq: 2, registeredAt: now });
    expect(plan.changes).toEqual([{ type: 'registered', contact: 'sip:a@192.0.2.1', expires: 3600 }]);
  });

  it('fails the whole request when the same Call-ID comes with a CSeq not higher than stored', () => {
    const existing = [stored('sip:a@192.0.2.1', { cseq: 5 })];
    expect(() => planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ cseq: 5 }), now, limits)).toThrow(OutOfOrderError);
    expect(() => planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ cseq: 4 }), now, limits)).toThrow(OutOfOrderError);
    const refreshed = planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ cseq: 6 }), now, limits);
    expect(refreshed.changes[0]!.type).toBe('refreshed');
    expect(refreshed.upserts[0]!.registeredAt).toBe(now - 1_000);
  });

  it('says what changed since a binding\'s last REGISTER (a NAT rebinding, a firmware upgrade)', () => {
    const existing = [stored('sip:a@192.0.2.1', { cseq: 1 })];
    const same = planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ cseq: 2, sourceAddress: existing[0]!.sourceAddress, sourcePort: existing[0]!.sourcePort, transport: existing[0]!.transport, userAgent: existing[0]!.userAgent }), now, limits);
    expect(same.changes).toEqual([{ type: 'refreshed', contact: 'sip:a@192.0.2.1', expires: 3600, changed: [] }]);
    const moved = planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ cseq: 2, sourceAddress: '198.51.100.9', sourcePort: 40000, transport: 'tcp', userAgent: 'Phone/2.0' }), now, limits);
    expect(moved.changes[0]!.changed).toEqual(['sourceIp', 'sourcePort', 'transport', 'userAgent']);
  });

  it('lets a different Call-ID update whatever its CSeq', () => {
    const existing = [stored('sip:a@192.0.2.1', { cseq: 50 })];
    const plan = planRegistration(existing, update('<sip:a@192.0.2.1>'), ctx({ callId: 'call-2', cseq: 1 }), now, limits);
    expect(plan.upserts[0]).toMatchObject({ callId: 'call-2', cseq: 1 });
  });

  it('replaces the binding of a rebooted RFC 5626 phone (same instance and reg-id, new Call-ID and contact)', () => {
    const inst = '+sip.instance="<urn:uuid:1>";reg-id=1';
    const before = planRegistration([], update(`<sip:a@192.0.2.1:5062>;${inst}`), ctx(), now, limits).upserts;
    const after = planRegistration(before, update(`<sip:a@192.0.2.99:40000>;${inst}`), ctx({ callId: 'after-reboot', cseq: 1 }), now, limits);
    expect(after.result).toHaveLength(1);
    expect(after.result[0]).toMatchObject({ uri: 'sip:a@192.0.2.99:40000', callId: 'after-reboot' });
  });

  it('removes a binding with expires=0 and removes all with the wildcard', () => {
    const existing = [stored('sip:a@192.0.2.1', { callId: 'x' }), stored('sip:b@192.0.2.2', { callId: 'y' })];
    const one = planRegistration(existing, update('<sip:a@192.0.2.1>;expires=0'), ctx(), now, limits);
    expect(one.removals).toEqual(['sip:a@192.0.2.1']);
    expect(one.result.map((b) => b.id)).toEqual(['sip:b@192.0.2.2']);
    const all = planRegistration(existing, { kind: 'wildcard' }, ctx(), now, limits);
    expect(all.removals).toEqual(['sip:a@192.0.2.1', 'sip:b@192.0.2.2']);
    expect(all.changes.every((e) => e.type === 'unregistered')).toBe(true);
  });

  it('applies the Call-ID/CSeq rule to the wildcard too', () => {
    const existing = [stored('sip:a@192.0.2.1', { callId: 'call-1', cseq: 9 })];
    expect(() => planRegistration(existing, { kind: 'wildcard' }, ctx({ cseq: 3 }), now, limits)).toThrow(OutOfOrderError);
  });

  it('answers a query with the live bindings and changes nothing', () => {
    const existing = [stored('sip:a@192.0.2.1'), stored('sip:old@192.0.2.1', { expiresAt: now - 1 })];
    const plan = planRegistration(existing, { kind: 'query' }, ctx(), now, limits);
    expect(plan).toMatchObject({ upserts: [], removals: [] });
    expect(plan.result.map((b) => b.id)).toEqual(['sip:a@192.0.2.1']);
  });

  it('drops the oldest bindings past the maximum, or rejects under the reject policy', () => {
    const existing = [
      stored('sip:1@192.0.2.1', { registeredAt: now - 3_000, callId: 'c1' }),
      stored('sip:2@192.0.2.1', { registeredAt: now - 2_000, callId: 'c2' }),
      stored('sip:3@192.0.2.1', { registeredAt: now - 1_000, callId: 'c3' }),
    ];
    const plan = planRegistration(existing, update('<sip:4@192.0.2.1>'), ctx(), now, limits);
    expect(plan.removals).toEqual(['sip:1@192.0.2.1']);
    expect(plan.result.map((b) => b.id).sort()).toEqual(['sip:2@192.0.2.1', 'sip:3@192.0.2.1', 'sip:4@192.0.2.1']);
    expect(() => planRegistration(existing, update('<sip:4@192.0.2.1>'), ctx(), now, { maxBindings: 3, policy: 'reject' })).toThrow(TooManyBindingsError);
  });

  it('lists every binding in the 200 with its remaining expiry, exactly as sent', () => {
    const b = stored('x', { uri: 'sip:a@192.0.2.1;transport=TCP', params: ';+sip.instance="<urn:uuid:1>"', expiresAt: now + 1_800_000 });
    expect(contactsForResponse([b], now)).toEqual(['<sip:a@192.0.2.1;transport=TCP>;+sip.instance="<urn:uuid:1>";expires=1800']);
    expect(contactsForResponse([b], now + 1_799_500)).toEqual(['<sip:a@192.0.2.1;transport=TCP>;+sip.instance="<urn:uuid:1>";expires=1']);
    expect(sipDate(now)).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    // Within the same second the same text; the next second a new one (and back again).
    expect(sipDate(now + 999)).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    expect(sipDate(now + 1_000)).toBe('Tue, 14 Nov 2023 22:13:21 GMT');
    expect(sipDate(now - 1)).toBe('Tue, 14 Nov 2023 22:13:19 GMT');
  });
});
