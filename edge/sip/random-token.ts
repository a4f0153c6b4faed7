/**
 * Random hex tokens for To tags (RFC 3261 §19.3: globally unique, at least 32
 * random bits). Entropy is drawn from the CSPRNG in blocks: one call per
 * 512 tags instead of one per response.
 */
import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 6;
const BLOCK_TOKENS = 512;
const block = Buffer.alloc(TOKEN_BYTES * BLOCK_TOKENS);
let next = BLOCK_TOKENS;

/** 12 hex characters (48 random bits). */
export function randomToken(): string {
  if (next === BLOCK_TOKENS) {
    randomFillSync(block);
    next = 0;
  }
  const start = next++ * TOKEN_BYTES;
  return block.toString('hex', start, start + TOKEN_BYTES);
}
