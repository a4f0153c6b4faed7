import fc from 'fast-check';
import { SipStreamFramer } from '../sip/stream-framer';
import { FrameDecoder, encodeFrame } from '../control/frame-decoder';
import { MessageHead } from '../sip/message';
import { DEFAULT_LIMITS } from '../options';
import { sipRequest } from './support';

function framer(limits = DEFAULT_LIMITS) {
  const out = { messages: [] as Array<{ head: MessageHead; body: string }>, pings: 0, fatal: undefined as string | undefined };
  const f = new SipStreamFramer(limits, {
    message: (head, body) => out.messages.push({ head, body }),
    ping: () => out.pings++,
    fatal: (reason) => (out.fatal = reason),
  });
  return { f, out };
}

describe('SIP stream framing (RFC 3261 §18.3)', () => {
  it('frames the same messages however the stream is cut', () => {
    const stream = Buffer.from(sipRequest({ cseq: 1 }) + '\r\n\r\n' + sipRequest({ cseq: 2, body: 'abc' }) + sipRequest({ cseq: 3 }), 'latin1');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
        const { f, out } = framer();
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), stream.length];
        for (let i = 0; i < points.length - 1; i++) f.push(stream.subarray(points[i], points[i + 1]));
        expect(out.fatal).toBeUndefined();
        expect(out.messages.map((m) => m.body)).toEqual(['', 'abc', '']);
        expect(out.pings).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it('fails a stream of garbage: one endless line, or no end of headers past the size limit', () => {
    const long = framer({ ...DEFAULT_LIMITS, maxMessageBytes: 10_000, maxLineBytes: 1000 });
    long.f.push(Buffer.alloc(1500, 0x41));
    expect(long.out.fatal).toBe('line too long');
    const big = framer({ ...DEFAULT_LIMITS, maxMessageBytes: 1000 });
    big.f.push(Buffer.from('X sip:a SIP/2.0' + '\r\nA: b'.repeat(300)));
    expect(big.out.fatal).toBe('message too large');
  });

  it('fails a stream without Content-Length', () => {
    const { f, out } = framer();
    f.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n'));
    expect(out.fatal).toBe('missing Content-Length');
  });

  it('fails a message whose Content-Length exceeds the limit before reading the body', () => {
    const { f, out } = framer({ ...DEFAULT_LIMITS, maxMessageBytes: 1000 });
    f.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nContent-Length: 999999\r\n\r\n'));
    expect(out.fatal).toBe('message too large');
  });
});

describe('control framing <len>#<payload>', () => {
  it('decodes UTF-8 byte lengths, several frames per read and frames across reads', () => {
    const payloads = ['a|ping', 'b|route|ünï', 'c|sip|x|\r\nSIP/2.0 200 OK\r\n\r\n'];
    const data = Buffer.concat(payloads.map((p) => Buffer.from(`${Buffer.byteLength(p)}#${p}`, 'utf8')));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 10 }), (cuts) => {
        const d = new FrameDecoder(1 << 20);
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), data.length];
        const got: string[] = [];
        for (let i = 0; i < points.length - 1; i++) {
          const r = d.push(data.subarray(points[i], points[i + 1]));
          expect(r.error).toBeUndefined();
          got.push(...r.frames.map((x) => x.toString('utf8')));
        }
        expect(got).toEqual(payloads);
      }),
    );
  });

  it.each(['x#abc', '0#', '#abc', '99999999999#', '12a#'])('fails on a bad length prefix %j', (s) => {
    expect(new FrameDecoder(1000).push(Buffer.from(s)).error).toBeDefined();
  });

  it('fails on a frame above the limit and encodes latin1 payloads with their byte length', () => {
    expect(new FrameDecoder(10).push(Buffer.from('11#')).error).toBe('frame too large');
    expect(encodeFrame('\u00ff|x').toString('latin1')).toBe('3#\u00ff|x');
  });
});
