import fc from 'fast-check';
import { parseHead, splitValues, trimWs } from '../sip/message';
import { readDatagram } from '../sip/datagram';
import { checkRequest, tagOf } from '../sip/request';
import { fixUpVia, parseVia } from '../sip/via';
import { DEFAULT_LIMITS } from '../options';
import { sipRequest } from './support';

const limits = DEFAULT_LIMITS;
const src = { remoteAddress: '10.0.0.1', remotePort: 40000 };

describe('SIP head parser (RFC 3261 §7)', () => {
  it('parses a request line and headers, names case-insensitive and compact forms expanded', () => {
    const h = parseHead('INVITE sip:a@b SIP/2.0\r\nVIA: SIP/2.0/UDP h;branch=z9hG4bK1\r\ni: c1\r\nl: 0', limits);
    expect(h.kind).toBe('request');
    expect(h.error).toBeUndefined();
    expect(h.headers.map((x) => x.key)).toEqual(['via', 'call-id', 'content-length']);
    expect(h.headers.map((x) => x.name)).toEqual(['VIA', 'i', 'l']);
    expect(h.contentLength).toBe(0);
  });

  it('joins folded lines with one space', () => {
    const h = parseHead('OPTIONS sip:a SIP/2.0\r\nSubject: a\r\n \t b\r\n\tc', limits);
    expect(h.headers[0]!.value).toBe('a b c');
  });

  it('joins folded lines as before: each line trimmed, the non-empty ones joined with one space', () => {
    // The former line-by-line join (quadratic in the number of folded lines), as the reference.
    const reference = (first: string, lines: string[]): string => {
      let v = first;
      for (const line of lines) v = trimWs(v) + ' ' + trimWs(line);
      return trimWs(v);
    };
    const text = fc.array(fc.constantFrom(' ', '\t', 'a', 'b', ',', '\u00a0'), { maxLength: 8 }).map((cs) => cs.join(''));
    const continuation = fc.tuple(fc.constantFrom(' ', '\t', ' \t'), text).map(([ws, t]) => ws + t);
    fc.assert(
      fc.property(text, fc.array(continuation, { maxLength: 6 }), (first, lines) => {
        const h = parseHead(['OPTIONS sip:a SIP/2.0', `Subject:${first}`, ...lines, 'l: 0'].join('\r\n'), limits);
        expect(h.error).toBeUndefined();
        expect(h.headers.map((x) => x.key)).toEqual(['subject', 'content-length']);
        expect(h.headers[0]!.value).toBe(reference(first, lines));
      }),
      { numRuns: 500 },
    );
    // Thousands of short folded lines: the same value, and the length limit still counts the header whole.
    const many = Array.from({ length: 3000 }, (_, i) => ` x${i % 10}`);
    expect(parseHead(['OPTIONS sip:a SIP/2.0', 'Subject: s', ...many].join('\r\n'), { ...limits, maxLineBytes: 16_384 }).headers[0]!.value).toBe(reference(' s', many));
    expect(parseHead(['OPTIONS sip:a SIP/2.0', 'Subject: s', ...many].join('\r\n'), limits).error).toBe('folded header too long');
  });

  it('parses status lines', () => {
    const h = parseHead('SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE', limits);
    expect(h).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing' });
  });

  it.each([
    ['GARBAGE', 'malformed request line'],
    ['REG ISTER sip:a SIP/2.0', 'malformed request line'],
    ['REGISTER sip:a SIP/3.0', 'unsupported SIP version'],
    ['REGISTER nocolon SIP/2.0', 'invalid Request-URI'],
    ['REGISTER sip:a SIP/2.0\r\nNoColonHere', 'malformed header line'],
    ['REGISTER sip:a SIP/2.0\r\n continuation', 'continuation line without a header'],
    ['REGISTER sip:a SIP/2.0\r\nBad Name: x', 'invalid header name'],
    ['REGISTER sip:a SIP/2.0\r\nContent-Length: -1', 'invalid Content-Length'],
    ['REGISTER sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2', 'conflicting Content-Length headers'],
    ['REGISTER sip:a SIP/2.0\r\nX: a\nb', 'invalid characters in X header'],
  ])('reports %j as %s', (text, error) => {
    expect(parseHead(text, limits).error).toBe(error);
  });

  it('leaves the length unknown when Content-Length values conflict or one is invalid, whatever came first', () => {
    expect(parseHead('REGISTER sip:a SIP/2.0\r\nContent-Length: 5\r\nl: 0', limits).contentLength).toBeUndefined();
    expect(parseHead('REGISTER sip:a SIP/2.0\r\nContent-Length: 5\r\nl: x', limits).contentLength).toBeUndefined();
    expect(parseHead('REGISTER sip:a SIP/2.0\r\nContent-Length: 5\r\nl: 5', limits)).toMatchObject({ contentLength: 5, error: undefined });
  });

  it('enforces header count and line length', () => {
    const many = 'REGISTER sip:a SIP/2.0' + '\r\nX: 1'.repeat(200);
    expect(parseHead(many, limits).error).toBe('too many headers');
    expect(parseHead(`REGISTER sip:a SIP/2.0\r\nX: ${'a'.repeat(9000)}`, limits).error).toBe('header line too long');
  });

  it('keeps headers read before a fault, so a Via can still be answered', () => {
    const h = parseHead('REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n???', limits);
    expect(h.error).toBeDefined();
    expect(h.headers[0]!.key).toBe('via');
  });

  it('splits multi-value headers outside quotes and angle brackets', () => {
    expect(splitValues('"a, b" <sip:x;p=1,2>, <sip:y>')).toEqual(['"a, b" <sip:x;p=1,2>', '<sip:y>']);
  });

  it('keeps every byte: latin1 in, latin1 out', () => {
    const bytes = Buffer.from([0xc3, 0x28, 0xa0, 0xff]);
    const text = Buffer.concat([Buffer.from('REGISTER sip:a SIP/2.0\r\nX-B: ', 'latin1'), bytes]).toString('latin1');
    const h = parseHead(text, limits);
    expect(Buffer.from(h.headers[0]!.value, 'latin1')).toEqual(bytes);
  });
});

describe('datagrams (RFC 3261 §18.3)', () => {
  it('treats blank datagrams as keep-alives', () => {
    expect(readDatagram(Buffer.from('\r\n\r\n'), limits).kind).toBe('keepalive');
  });
  it('cuts the body to Content-Length and flags a short body', () => {
    const r = readDatagram(Buffer.from('MESSAGE sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\nhello'), limits);
    expect(r.kind === 'message' && r.body).toBe('he');
    const s = readDatagram(Buffer.from('MESSAGE sip:a SIP/2.0\r\nContent-Length: 9\r\n\r\nhello'), limits);
    expect(s.kind === 'message' && s.bodyError).toBe('body shorter than Content-Length');
  });
});

describe('Via (RFC 3261 §18.2.1, RFC 3581)', () => {
  it('parses sent-by, IPv6 references and parameters', () => {
    expect(parseVia('SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKa;rport')).toMatchObject({
      transport: 'TCP',
      host: '[2001:db8::1]',
      port: 5070,
      branch: 'z9hG4bKa',
    });
    expect(parseVia('SIP/2.0/UDP')).toBeUndefined();
    expect(parseVia('SIP/2.0/UDP host;=x')).toBeUndefined();
  });

  it('fills rport, adds received when the host is not the source, keeps parameter order', () => {
    const via = parseVia('SIP/2.0/UDP 192.0.2.1:35596;branch=z9hG4bK-1;rport;x=y')!;
    expect(fixUpVia(via, '127.0.0.1', 4000)).toBe('SIP/2.0/UDP 192.0.2.1:35596;branch=z9hG4bK-1;rport=4000;x=y;received=127.0.0.1');
    const same = parseVia('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-2')!;
    expect(fixUpVia(same, '127.0.0.1', 5060)).toBe('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-2;rport=5060');
    const v6 = parseVia('SIP/2.0/UDP [::1]:5060;branch=z9hG4bK-3')!;
    expect(fixUpVia(v6, '::1', 5060)).toBe('SIP/2.0/UDP [::1]:5060;branch=z9hG4bK-3;rport=5060');
  });
});

describe('request checks (RFC 3261 §8.2)', () => {
  const check = (text: string) => {
    const r = readDatagram(Buffer.from(text, 'latin1'), limits);
    if (r.kind !== 'message' || r.head.kind !== 'request') throw new Error('not a request');
    return checkRequest(r.head, r.body, r.bodyError, src);
  };
  it('accepts a well-formed REGISTER and fixes up its Via', () => {
    const r = check(sipRequest());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.request.fixedViaValue).toMatch(/;rport=40000;received=10\.0\.0\.1$/);
  });
  it('rejects duplicate single-valued headers and huge CSeq numbers', () => {
    expect(check(sipRequest({ extra: ['Call-ID: second'] }))).toMatchObject({ ok: false, reason: 'more than one call-id header' });
    // Compact forms count; the repetition reported follows Call-ID, CSeq, From, To whatever the wire order.
    expect(check(sipRequest({ extra: ['t: <sip:bob@example.com>', 'f: <sip:bob@example.com>;tag=2'] }))).toMatchObject({ ok: false, reason: 'more than one from header' });
    expect(check(sipRequest({ extra: ['To: <sip:bob@example.com>', 'CSeq: 2 REGISTER'] }))).toMatchObject({ ok: false, reason: 'more than one cseq header' });
    // A missing header is reported before a repeated one.
    expect(check(sipRequest({ extra: ['To: <sip:bob@example.com>'] }).replace(/\r\nCall-ID: .*/, ''))).toMatchObject({ ok: false, reason: 'missing Call-ID' });
    // Max-Forwards: the first one is checked.
    expect(check(sipRequest({ extra: ['Max-Forwards: x'] }))).toMatchObject({ ok: true });
    expect(check(sipRequest().replace('Max-Forwards: 70', 'Max-Forwards: x'))).toMatchObject({ ok: false, reason: 'malformed Max-Forwards' });
    expect(check(sipRequest({ cseq: 2 ** 31 }))).toMatchObject({ ok: false, reason: 'CSeq number too large' });
  });
  it('finds tags only among header parameters', () => {
    expect(tagOf('<sip:a@b;tag=no>;tag=yes')).toBe('yes');
    expect(tagOf('"x>y" <sip:a@b>;tag=t')).toBe('t');
    expect(tagOf('sip:a@b;tag=z')).toBe('z');
    expect(tagOf('<sip:a@b;tag=no>')).toBeUndefined();
  });
});
