import { ago, fieldErrors, problemText, registrationLabel, remaining, splitList, sseFrames } from '../src/format';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const before = (s: number): string => new Date(NOW - s * 1000).toISOString();

describe('console formatting', () => {
  it('says how long ago', () => {
    expect(ago(null, NOW)).toBe('never');
    expect(ago('garbage', NOW)).toBe('unknown');
    expect(ago(before(3), NOW)).toBe('just now');
    expect(ago(before(42), NOW)).toBe('42 s ago');
    expect(ago(before(600), NOW)).toBe('10 min ago');
    expect(ago(before(7200), NOW)).toBe('2 h ago');
    expect(ago(before(3 * 86400), NOW)).toBe('3 d ago');
    expect(ago(before(-60), NOW)).toBe('in the future');
  });

  it('says how long is left', () => {
    expect(remaining(before(-3725), NOW)).toBe('1 h 2 min');
    expect(remaining(before(-125), NOW)).toBe('2 min 5 s');
    expect(remaining(before(-9), NOW)).toBe('9 s');
    expect(remaining(before(1), NOW)).toBe('expired');
  });

  it('puts a problem\'s errors on their fields, in words', () => {
    const m = fieldErrors({ errors: [{ field: 'sipUsername', message: 'is taken' }, { field: 'codecs.1', message: 'bad codec' }, { field: 'codecs', message: 'repeats' }, { message: 'whole body' }] });
    expect(Object.fromEntries(m)).toEqual({ sipUsername: 'is taken', codecs: 'bad codec; repeats', '': 'whole body' });
    expect(problemText({ detail: 'A device with this sipUsername exists.' }, 409)).toBe('A device with this sipUsername exists.');
    expect(problemText({}, 0)).toMatch(/did not answer/);
    expect(problemText({}, 429)).toMatch(/Too many/);
    expect(problemText({ title: 'Conflict' }, 409)).toBe('Conflict');
  });

  it('labels registration states', () => {
    expect(registrationLabel('registered')).toEqual({ text: 'Registered', cls: 'ok' });
    expect(registrationLabel('pending').text).toBe('Never registered');
    expect(registrationLabel('unregistered').cls).toBe('off');
  });

  it('splits lists', () => {
    expect(splitList(' PCMU, pcma  G729,,')).toEqual(['PCMU', 'pcma', 'G729']);
  });

  it('reads Server-Sent Events frames, keeping an unfinished one for later', () => {
    const { frames, rest } = sseFrames('retry: 2000\n\n: ping\nid: 1-2\n\nid: 1-3\ndata: {"a":1}\n\nid: 1-4\ndata: {"b"');
    expect(frames).toEqual([{}, { id: '1-2' }, { id: '1-3', data: '{"a":1}' }]);
    expect(rest).toBe('id: 1-4\ndata: {"b"');
    expect(sseFrames('data: x\r\ndata: y\r\n\r\n').frames).toEqual([{ data: 'x\ny' }]);
  });
});
