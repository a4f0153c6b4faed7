/**
 * The drachtio control framing: `<N>#<payload>`, N the decimal byte length of
 * the payload. Frames may arrive several per read or split across reads.
 */

const HASH = 0x23;
/** More digits than this cannot be a length we accept. */
const MAX_LENGTH_DIGITS = 10;

/** Outcome of feeding bytes: complete payloads, and an error once the stream is unusable. */
export interface DecodeResult {
  readonly frames: Buffer[];
  readonly error: string | undefined;
}

/** Incremental decoder for one control connection. */
export class FrameDecoder {
  private buf: Buffer | undefined;
  private failed = false;

  /** @param maxFrameBytes largest payload accepted; a larger length prefix fails the stream. */
  constructor(public maxFrameBytes: number) {}

  /** Feeds bytes; never throws. After an error every later call returns no frames. */
  push(chunk: Buffer): DecodeResult {
    const frames: Buffer[] = [];
    if (this.failed) return { frames, error: 'stream failed' };
    let buf = this.buf && this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    // Each iteration consumes a whole frame or returns.
    for (;;) {
      if (off >= buf.length) break;
      const hash = buf.indexOf(HASH, off);
      const digitsEnd = hash === -1 ? buf.length : hash;
      if (digitsEnd - off > MAX_LENGTH_DIGITS) return this.fail(frames, 'invalid length prefix');
      for (let i = off; i < digitsEnd; i++) {
        const c = buf[i]!;
        if (c < 0x30 || c > 0x39) return this.fail(frames, 'invalid length prefix');
      }
      if (hash === -1) break;
      if (hash === off) return this.fail(frames, 'invalid length prefix');
      const len = Number(buf.toString('latin1', off, hash));
      if (len <= 0) return this.fail(frames, 'invalid length prefix');
      if (len > this.maxFrameBytes) return this.fail(frames, 'frame too large');
      if (buf.length - (hash + 1) < len) break;
      frames.push(buf.subarray(hash + 1, hash + 1 + len));
      off = hash + 1 + len;
    }
    if (off >= buf.length) this.buf = undefined;
    else {
      buf = buf.subarray(off);
      // Keep our own copy of a partial frame so we do not pin the socket's larger buffers.
      this.buf = off > 0 ? Buffer.from(buf) : buf;
    }
    return { frames, error: undefined };
  }

  private fail(frames: Buffer[], error: string): DecodeResult {
    this.failed = true;
    this.buf = undefined;
    return { frames, error };
  }
}

/** Encodes one frame; `payload` is latin1 text (one char per byte). */
export function encodeFrame(payload: string): Buffer {
  return Buffer.from(`${payload.length}#${payload}`, 'latin1');
}
