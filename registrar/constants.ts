/**
 * Protocol constants, named after the RFCs that define them. Configurable values
 * (min/default/max expiry, nonce lifetime) take these as bounds or documented defaults.
 */

/** RFC 3261 §10.3 step 7: a registrar may answer 423 only for a requested expiry below one hour. */
export const MIN_EXPIRES_CEILING_S = 3600;

/** RFC 3261 §10.2.1.1 / §25.1: delta-seconds is at most 2^32-1; larger values mean the maximum. */
export const MAX_DELTA_SECONDS = 4_294_967_295;

/** RFC 3261 §20.10: the options this registrar supports (RFC 3327 Path, RFC 5626 outbound). */
export const SUPPORTED_OPTIONS = ['path', 'outbound'] as const;

/** RFC 3261 §20.5: methods the registrar answers. */
export const ALLOWED_METHODS = 'REGISTER, OPTIONS';

/**
 * drachtio-server v0.9.4 reads each frame from an app into a fixed buffer of this
 * many bytes; a larger frame wedges the control connection (docs/registrar.md).
 */
export const DRACHTIO_MAX_FRAME_BYTES = 12_228;

/** Bytes kept free below DRACHTIO_MAX_FRAME_BYTES for the frame's length prefix and ids. */
export const FRAME_SAFETY_MARGIN_BYTES = 128;

/** Longest Contact URI plus parameters stored for one binding (keeps a binding well under 1 KiB in Redis). */
export const MAX_CONTACT_BYTES = 512;

/** Longest Path stored for one binding (RFC 3327), in bytes. */
export const MAX_PATH_BYTES = 512;

/** User-Agent values are stored truncated to this many characters. */
export const MAX_USER_AGENT_CHARS = 128;

/** Longest Call-ID stored with a binding. Longer ones are refused with 400. */
export const MAX_CALL_ID_BYTES = 256;
