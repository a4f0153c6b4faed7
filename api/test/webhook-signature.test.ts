import { createHmac } from 'node:crypto';
import { newWebhookSecret, signatureHeader, verifyWebhook, webhookHeaders } from '../webhooks/signature';

/** A fixed key: the bytes 0..31. */
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const SECRET = `whsec_${KEY.toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const ID = 'msg_1';
const TS = 1_700_000_000;
const BODY = '{"a":1}';

/** The receiver's view of the headers a delivery carries. */
function received(headers: Record<string, string>): { id?: string; timestamp?: string; signature?: string } {
  return { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] };
}

describe('a receiver checks that a delivery comes from us (Standard Webhooks v1)', () => {
  it('signs the known vector as the specification computes it', () => {
    // Computed here from the specification, independently of the module.
    const expected = createHmac('sha256', KEY).update('msg_1.1700000000.{"a":1}').digest('base64');
    expect(signatureHeader([SECRET], ID, TS, BODY)).toBe(`v1,${expected}`);
    expect(webhookHeaders([SECRET], ID, TS, BODY)).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `v1,${expected}`,
    });
  });

  it('makes new secrets of 32 random bytes in whsec_ form', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(a);
  });

  it('verifies what it signed, with a new secret too', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders([secret], 'msg_2', TS, BODY);
    expect(verifyWebhook(secret, received(headers), BODY, TS)).toBe(true);
  });

  it('during a secret rotation, sends one entry per secret and either secret verifies', () => {
    const header = signatureHeader([OTHER_SECRET, SECRET], ID, TS, BODY);
    const entries = header.split(' ');
    expect(entries).toHaveLength(2);
    expect(entries[1]).toBe(signatureHeader([SECRET], ID, TS, BODY));
    for (const secret of [OTHER_SECRET, SECRET]) {
      expect(verifyWebhook(secret, { id: ID, timestamp: String(TS), signature: header }, BODY, TS)).toBe(true);
    }
    expect(verifyWebhook(newWebhookSecret(), { id: ID, timestamp: String(TS), signature: header }, BODY, TS)).toBe(false);
  });

  it('rejects a tampered body, id or timestamp, and a wrong secret', () => {
    const h = received(webhookHeaders([SECRET], ID, TS, BODY));
    expect(verifyWebhook(SECRET, h, '{"a":2}', TS)).toBe(false);
    expect(verifyWebhook(SECRET, h, '{"a": 1}', TS)).toBe(false);
    expect(verifyWebhook(SECRET, { ...h, id: 'msg_2' }, BODY, TS)).toBe(false);
    expect(verifyWebhook(SECRET, { ...h, timestamp: String(TS + 1) }, BODY, TS)).toBe(false);
    expect(verifyWebhook(OTHER_SECRET, h, BODY, TS)).toBe(false);
  });

  it('rejects a timestamp too old or too far in the future, and accepts one at the edge of the tolerance', () => {
    const h = received(webhookHeaders([SECRET], ID, TS, BODY));
    expect(verifyWebhook(SECRET, h, BODY, TS + 300)).toBe(true);
    expect(verifyWebhook(SECRET, h, BODY, TS - 300)).toBe(true);
    expect(verifyWebhook(SECRET, h, BODY, TS + 301)).toBe(false);
    expect(verifyWebhook(SECRET, h, BODY, TS - 301)).toBe(false);
    expect(verifyWebhook(SECRET, h, BODY, TS + 60, 30)).toBe(false);
    expect(verifyWebhook(SECRET, h, BODY, TS + 60, 60)).toBe(true);
  });

  it('rejects a delivery missing any header', () => {
    const h = received(webhookHeaders([SECRET], ID, TS, BODY));
    expect(verifyWebhook(SECRET, { ...h, id: undefined }, BODY, TS)).toBe(false);
    expect(verifyWebhook(SECRET, { ...h, timestamp: undefined }, BODY, TS)).toBe(false);
    expect(verifyWebhook(SECRET, { ...h, signature: undefined }, BODY, TS)).toBe(false);
    expect(verifyWebhook(SECRET, { ...h, signature: '' }, BODY, TS)).toBe(false);
    expect(verifyWebhook(SECRET, {}, BODY, TS)).toBe(false);
  });

  it('answers false, never throws, for garbage signatures, timestamps and secrets', () => {
    const h = received(webhookHeaders([SECRET], ID, TS, BODY));
    const signature = h.signature ?? '';
    const value = signature.slice('v1,'.length);
    for (const garbage of ['garbage', 'v1,', 'v1,!!!!', 'v1,AAAA', `v2,${value}`, value, `v1,${value.slice(0, -4)}`, `v1,${value}x`,
      `v1,${value.replace(/=$/, '')}`, ',', ' ', '   v1,   ', `v1a,${value}`, `v1,${Buffer.alloc(64).toString('base64')}`]) {
      expect([garbage, verifyWebhook(SECRET, { ...h, signature: garbage }, BODY, TS)]).toEqual([garbage, false]);
    }
    // A valid entry among garbage ones still verifies (unknown versions are skipped, as the specification says).
    expect(verifyWebhook(SECRET, { ...h, signature: `v2,xyz garbage ${signature}` }, BODY, TS)).toBe(true);
    for (const timestamp of ['', 'abc', '-1700000000', '1700000000.5', ' 1700000000', '1e9', '99999999999999999999']) {
      expect([timestamp, verifyWebhook(SECRET, { ...h, timestamp }, BODY, TS)]).toEqual([timestamp, false]);
    }
    for (const secret of ['', 'whsec_', 'whsec_!!!', KEY.toString('base64'), 'whsec_abc', 'sk_live_whatever']) {
      expect([secret, verifyWebhook(secret, h, BODY, TS)]).toEqual([secret, false]);
    }
    expect(verifyWebhook(SECRET, h, BODY, Number.NaN)).toBe(false);
  });

  it('refuses to sign with no secret, a malformed secret or a timestamp that is not whole seconds', () => {
    expect(() => signatureHeader([], ID, TS, BODY)).toThrow(RangeError);
    expect(() => signatureHeader(['not-a-secret'], ID, TS, BODY)).toThrow(RangeError);
    expect(() => signatureHeader([SECRET], ID, 1_700_000_000.5, BODY)).toThrow(RangeError);
  });
});
