import { ValidationError } from './errors';
import { CursorTimestamp } from './schemas';

/**
 * The opaque list cursors of the API. A keyset position (`created_at` as exact
 * microsecond text, and the row id) for lists in creation order, or a sequence
 * number for the event lists. A cursor this API did not make is a 422.
 */

/** A keyset position: the (created_at, id) of the last row of the previous page. */
export interface KeysetCursor {
  createdAt: string;
  id: string;
}

export function encodeKeysetCursor(c: KeysetCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id]), 'utf8').toString('base64url');
}

export function decodeKeysetCursor(s: string, id: RegExp): KeysetCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && CursorTimestamp.safeParse(v[0]).success && typeof v[1] === 'string' && id.test(v[1])) {
      return { createdAt: v[0], id: v[1] };
    }
  } catch {
    // falls through to the 422 below
  }
  throw badCursor();
}

/** Largest bigint: a larger sequence number is no cursor of ours. */
const MAX_SEQ = 2n ** 63n - 1n;

export function encodeSequenceCursor(seq: string): string {
  return Buffer.from(seq, 'utf8').toString('base64url');
}

export function decodeSequenceCursor(s: string): string {
  const seq = Buffer.from(s, 'base64url').toString('utf8');
  if (!/^[0-9]{1,19}$/.test(seq) || BigInt(seq) > MAX_SEQ) throw badCursor();
  return seq;
}

const badCursor = (): ValidationError => new ValidationError([{ field: 'cursor', code: 'invalid-value', message: 'not a cursor returned by this endpoint' }]);
