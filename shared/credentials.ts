import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { secretOrLocal } from './local-secrets';
import type { Logger } from './logger';

/**
 * The SIP credential model shared by the API (which writes it) and the registrar
 * (which reads the HA1 columns): password generation, encryption at rest, HA1 digests.
 */

/** Letters and digits only, so a password can be typed on a phone's configuration page. */
export const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 20 characters of base62: log2(62) * 20 ≈ 119 bits, above the 100 bits the design asks for. */
export const PASSWORD_LENGTH = 20;

/** Raised when stored ciphertext cannot be decrypted (unknown key id, tampering, wrong format). */
export class CredentialDecryptError extends Error {
  readonly code = 'CREDENTIAL_DECRYPT_FAILED';
  constructor(reason: string) {
    super(`cannot decrypt stored credential: ${reason}`);
    this.name = 'CredentialDecryptError';
  }
}

/** Raised when the configured keyring is unusable. The message names the problem, never a key. */
export class CredentialKeyError extends Error {
  readonly code = 'CREDENTIAL_KEYS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'CredentialKeyError';
  }
}

/**
 * `length` uniformly random base62 characters from the CSPRNG. Rejection sampling
 * keeps every character uniform (256 is not a multiple of 62).
 */
export function randomBase62(length: number): string {
  const limit = 256 - (256 % PASSWORD_ALPHABET.length); // 248
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new SIP password: PASSWORD_LENGTH base62 characters (about 119 bits). */
export function generateSipPassword(): string {
  return randomBase62(PASSWORD_LENGTH);
}

/** HA1 for MD5 digest (RFC 2617 §3.2.2.2): hex MD5 of `username:realm:password`. */
export function ha1Md5(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest('hex');
}

/** HA1 for SHA-256 digest (RFC 8760 / RFC 7616 §3.4.2): hex SHA-256 of `username:realm:password`. */
export function ha1Sha256(username: string, realm: string, password: string): string {
  return createHash('sha256').update(`${username}:${realm}:${password}`, 'utf8').digest('hex');
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const GCM_IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit IVs
const GCM_TAG_BYTES = 16;

/**
 * AES-256-GCM keyring. New ciphertext uses the active key; any listed key
 * decrypts, so keys rotate by adding a new id, making it active, and keeping
 * the old ones listed until every row is re-encrypted.
 *
 * Stored form (devices.password_enc): `<keyId>:<iv>:<tag>:<ciphertext>`, base64url parts.
 * The device id is bound in as additional authenticated data, so a ciphertext
 * copied onto another row does not decrypt.
 */
export class CredentialCipher {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keys: ReadonlyMap<string, Buffer>, readonly activeKeyId: string) {
    for (const [id, key] of keys) {
      if (!KEY_ID.test(id)) throw new CredentialKeyError(`credential key id "${id}" is not [A-Za-z0-9_-]{1,32}`);
      if (key.length !== 32) throw new CredentialKeyError(`credential key "${id}" is not 32 bytes`);
    }
    if (!keys.has(activeKeyId)) throw new CredentialKeyError(`active credential key id "${activeKeyId}" is not among the configured keys`);
    this.keys = new Map(keys);
  }

  /** Parses `k1:<base64>,k2:<base64>`; the active id defaults to the first listed. */
  static fromConfig(spec: string, activeKeyId?: string): CredentialCipher {
    const keys = new Map<string, Buffer>();
    for (const part of spec.split(',')) {
      const trimmed = part.trim();
      const sep = trimmed.indexOf(':');
      if (sep <= 0) throw new CredentialKeyError('CREDENTIAL_KEYS entries must be <id>:<base64 key>');
      const id = trimmed.slice(0, sep);
      if (keys.has(id)) throw new CredentialKeyError(`credential key id "${id}" is listed twice`);
      keys.set(id, Buffer.from(trimmed.slice(sep + 1), 'base64'));
    }
    const first = keys.keys().next();
    if (first.done) throw new CredentialKeyError('CREDENTIAL_KEYS is empty');
    return new CredentialCipher(keys, activeKeyId ?? first.value);
  }

  /**
   * The configured keyring, or (when CREDENTIAL_KEYS is unset) a generated key
   * kept in `<dataDir>/credential-key`, with a warning: development only.
   */
  static fromEnvOrLocal(opts: { keys?: string; activeKeyId?: string; dataDir: string; log?: Logger }): CredentialCipher {
    if (opts.keys) return CredentialCipher.fromConfig(opts.keys, opts.activeKeyId);
    const local = secretOrLocal(undefined, { variable: 'CREDENTIAL_KEYS', dataDir: opts.dataDir, fileName: 'credential-key', bytes: 32, log: opts.log });
    return new CredentialCipher(new Map([['local', Buffer.from(local, 'base64url')]]), 'local');
  }

  /** Encrypts `plaintext` bound to `context` (the device id). */
  encrypt(plaintext: string, context: string): string {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(GCM_IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [this.activeKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** Decrypts a value made by `encrypt` with any configured key id. Throws CredentialDecryptError. */
  decrypt(stored: string, context: string): string {
    const parts = stored.split(':');
    if (parts.length !== 4) throw new CredentialDecryptError('malformed ciphertext');
    const [keyId, ivB64, tagB64, ctB64] = parts as [string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key) throw new CredentialDecryptError(`key id "${keyId}" is not configured`);
    const iv = Buffer.from(ivB64, 'base64url');
    const tag = Buffer.from(tagB64, 'base64url');
    if (iv.length !== GCM_IV_BYTES || tag.length !== GCM_TAG_BYTES) throw new CredentialDecryptError('malformed ciphertext');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new CredentialDecryptError('authentication failed');
    }
  }

  /** The key id a stored value was encrypted with (to find rows still on an old key). */
  static keyIdOf(stored: string): string {
    return stored.slice(0, stored.indexOf(':'));
  }
}

/** What the devices table stores for one password. */
export interface StoredCredentials {
  readonly passwordEnc: string;
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
}

/**
 * Everything the devices row needs for `password`: ciphertext (bound to the
 * device id) and both HA1 values over `username:realm:password`, realm = the SIP domain.
 */
export function storedCredentials(
  cipher: CredentialCipher,
  device: { id: string; sipUsername: string; sipDomain: string },
  password: string,
): StoredCredentials {
  return {
    passwordEnc: cipher.encrypt(password, device.id),
    ha1Md5: ha1Md5(device.sipUsername, device.sipDomain, password),
    ha1Sha256: ha1Sha256(device.sipUsername, device.sipDomain, password),
  };
}
