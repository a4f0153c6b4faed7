import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { Writable } from 'node:stream';
import {
  CredentialCipher,
  CredentialDecryptError,
  CredentialKeyError,
  generateSipPassword,
  ha1Md5,
  ha1Sha256,
  PASSWORD_ALPHABET,
  PASSWORD_LENGTH,
  storedCredentials,
} from '../credentials';

const key = (): Buffer => randomBytes(32);

describe('SIP password generation', () => {
  it('gives 20 letters and digits, over 100 bits of entropy', () => {
    expect(PASSWORD_LENGTH * Math.log2(PASSWORD_ALPHABET.length)).toBeGreaterThan(100);
    for (let i = 0; i < 200; i++) expect(generateSipPassword()).toMatch(/^[A-Za-z0-9]{20}$/);
  });

  it('uses every character of the alphabet, roughly uniformly, and never repeats a password', () => {
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const p = generateSipPassword();
      seen.add(p);
      for (const c of p) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(seen.size).toBe(3000);
    expect(counts.size).toBe(62);
    const expected = (3000 * 20) / 62; // ≈ 968
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(expected * 0.75);
      expect(n).toBeLessThan(expected * 1.25);
    }
  });
});

describe('HA1 (RFC 2617 / RFC 8760)', () => {
  it('MD5 matches the RFC 2617 §3.5 example', () => {
    expect(ha1Md5('Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe('939e7578ed9e3c518a452acee763bce9');
  });

  it('SHA-256 is the hex SHA-256 of username:realm:password (checked against openssl)', () => {
    expect(ha1Sha256('Mufasa', 'http-auth@example.org', 'Circle of Life')).toBe('7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232');
  });

  it('storedCredentials gives ciphertext and both HA1 values over the device identity', () => {
    const cipher = new CredentialCipher(new Map([['k1', key()]]), 'k1');
    const s = storedCredentials(cipher, { id: 'dev_sip_1', sipUsername: 'john.doe', sipDomain: 'sip.example.com' }, 'Secret123');
    expect(s.ha1Md5).toBe(ha1Md5('john.doe', 'sip.example.com', 'Secret123'));
    expect(s.ha1Sha256).toBe(ha1Sha256('john.doe', 'sip.example.com', 'Secret123'));
    expect(s.passwordEnc).not.toContain('Secret123');
    expect(cipher.decrypt(s.passwordEnc, 'dev_sip_1')).toBe('Secret123');
  });
});

describe('CredentialCipher (AES-256-GCM with key ids)', () => {
  it('round-trips any string and stores the key id with the ciphertext', () => {
    const cipher = new CredentialCipher(new Map([['k1', key()]]), 'k1');
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (plain, ctx) => {
        const enc = cipher.encrypt(plain, ctx);
        expect(enc.startsWith('k1:')).toBe(true);
        expect(CredentialCipher.keyIdOf(enc)).toBe('k1');
        expect(cipher.decrypt(enc, ctx)).toBe(plain);
      }),
    );
  });

  it('after a rotation, new values use the new key and old values still decrypt', () => {
    const k1 = key();
    const k2 = key();
    const before = new CredentialCipher(new Map([['k1', k1]]), 'k1');
    const old = before.encrypt('oldPassword', 'dev_sip_x');
    const after = CredentialCipher.fromConfig(`k2:${k2.toString('base64')},k1:${k1.toString('base64')}`);
    expect(after.activeKeyId).toBe('k2');
    expect(after.decrypt(old, 'dev_sip_x')).toBe('oldPassword');
    expect(CredentialCipher.keyIdOf(after.encrypt('new', 'dev_sip_x'))).toBe('k2');
    expect(CredentialCipher.fromConfig(`k2:${k2.toString('base64')},k1:${k1.toString('base64')}`, 'k1').activeKeyId).toBe('k1');
  });

  it('refuses tampered ciphertext, another context, an unknown key id and malformed values', () => {
    const cipher = new CredentialCipher(new Map([['k1', key()]]), 'k1');
    const enc = cipher.encrypt('password', 'dev_sip_a');
    const parts = enc.split(':');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    const bad = [
      [parts[0], parts[1], parts[2], flipped.toString('base64url')].join(':'),
      ['k9', parts[1], parts[2], parts[3]].join(':'),
      'not-ciphertext',
      'k1:AAAA:BBBB:CCCC',
    ];
    for (const b of bad) expect(() => cipher.decrypt(b, 'dev_sip_a')).toThrow(CredentialDecryptError);
    expect(() => cipher.decrypt(enc, 'dev_sip_b')).toThrow(CredentialDecryptError);
  });

  it('a decrypt error never carries the key or the plaintext', () => {
    const k = key();
    const cipher = new CredentialCipher(new Map([['k1', k]]), 'k1');
    const enc = cipher.encrypt('plaintextSecret', 'a');
    let caught: unknown;
    try {
      cipher.decrypt(enc, 'b');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CredentialDecryptError);
    expect((caught as Error).message).not.toContain('plaintextSecret');
    expect((caught as Error).message).not.toContain(k.toString('base64'));
  });

  it('rejects bad keyrings with a CredentialKeyError that names no key material', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => CredentialCipher.fromConfig(`k1:${short}`)).toThrow(CredentialKeyError);
    expect(() => CredentialCipher.fromConfig('justakey')).toThrow(CredentialKeyError);
    expect(() => CredentialCipher.fromConfig(`k1:${key().toString('base64')}`, 'k2')).toThrow(/active credential key id/);
    const k = key().toString('base64');
    expect(() => CredentialCipher.fromConfig(`k1:${k},k1:${k}`)).toThrow(/listed twice/);
    try {
      CredentialCipher.fromConfig(`k1:${short}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('without CREDENTIAL_KEYS, generates one local key file, reuses it, and warns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cred-'));
    try {
      const lines: string[] = [];
      const log = pino({ level: 'warn' }, new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }));
      const a = CredentialCipher.fromEnvOrLocal({ dataDir: dir, log });
      const b = CredentialCipher.fromEnvOrLocal({ dataDir: dir });
      expect(a.activeKeyId).toBe('local');
      expect(b.decrypt(a.encrypt('x', 'c'), 'c')).toBe('x');
      const stored = readFileSync(join(dir, 'credential-key'), 'utf8').trim();
      expect(Buffer.from(stored, 'base64url')).toHaveLength(32);
      expect(lines.join('')).toContain('CREDENTIAL_KEYS');
      expect(lines.join('')).not.toContain(stored);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
