/**
 * The API's errors: one small class per failure, each with a stable `code`
 * (also the last segment of the RFC 9457 `type`) and a message that says what
 * to change. api/problem.ts turns them into application/problem+json.
 */

/** One field at fault in a request (JSON pointer-ish dotted path, e.g. `macAddress`). */
export interface FieldError {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** Base class: HTTP status, stable code, human title; `detail` is the message. */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  abstract readonly title: string;
  /** Extra members of the problem document (e.g. `errors`, `field`). */
  extensions(): Record<string, unknown> {
    return {};
  }
  /** Extra response headers (e.g. `Retry-After`). */
  headers(): Record<string, string> {
    return {};
  }
}

/** 400: the body is not valid JSON. */
export class MalformedJsonError extends ApiError {
  readonly status = 400;
  readonly code = 'malformed-json';
  readonly title = 'Malformed JSON';
  constructor() {
    super('The request body is not valid JSON.');
  }
}

/** 400: the request line or headers cannot be understood (e.g. bad percent-encoding). */
export class BadRequestError extends ApiError {
  readonly status = 400;
  readonly code = 'bad-request';
  readonly title = 'Bad request';
}

/** 401: no X-Auth-Token, or one that is unknown, revoked or wrong. */
export class UnauthenticatedError extends ApiError {
  readonly status = 401;
  readonly code = 'unauthenticated';
  readonly title = 'Authentication required';
  constructor() {
    super('Send a valid API key in the X-Auth-Token header.');
  }
}

/** 403: the key is valid but may not act on this resource. */
export class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly code = 'forbidden';
  readonly title = 'Forbidden';
}

/** 404: no such resource (or not visible to this key). */
export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly title = 'Not found';
  constructor(
    readonly code: 'device-not-found' | 'account-not-found' | 'api-key-not-found' | 'sip-block-not-found' | 'webhook-not-found' | 'provisioning-token-not-found' | 'route-not-found',
    detail: string,
  ) {
    super(detail);
  }
}

/** 409: a unique value is already taken. */
export class ConflictError extends ApiError {
  readonly status = 409;
  readonly title = 'Conflict';
  constructor(readonly code: 'sip-username-taken' | 'mac-address-taken', readonly field: string, detail: string) {
    super(detail);
  }
  override extensions(): Record<string, unknown> {
    return { field: this.field, errors: [{ field: this.field, code: this.code, message: this.message }] };
  }
}

/** 413: the body is larger than API_BODY_LIMIT_BYTES. */
export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly code = 'payload-too-large';
  readonly title = 'Payload too large';
  constructor(limit: number) {
    super(`The request body exceeds ${limit} bytes.`);
  }
}

/** 415: a body in anything but JSON. */
export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly code = 'unsupported-media-type';
  readonly title = 'Unsupported media type';
  constructor(detail = 'Send the request body as application/json (UTF-8).') {
    super(detail);
  }
}

/** 422: well-formed JSON whose values are invalid, or fields the endpoint does not know. */
export class ValidationError extends ApiError {
  readonly status = 422;
  readonly code = 'validation-failed';
  readonly title = 'Invalid request';
  constructor(readonly errors: readonly FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
  override extensions(): Record<string, unknown> {
    return { errors: this.errors };
  }
}

/**
 * 429: too many failed authentications from this client address. `Retry-After`
 * says in how many seconds it may try again.
 */
export class TooManyRequestsError extends ApiError {
  readonly status = 429;
  readonly code = 'too-many-requests';
  readonly title = 'Too many requests';
  constructor(readonly retryAfterS: number) {
    super(`Too many failed authentications from this address; retry in ${retryAfterS} s.`);
  }
  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterS) };
  }
}

/** 503: PostgreSQL or Redis does not answer, or the API is too busy verifying keys (then with `Retry-After`). */
export class ServiceUnavailableError extends ApiError {
  readonly status = 503;
  readonly code = 'service-unavailable';
  readonly title = 'Service unavailable';
  constructor(what: string, readonly retryAfterS?: number) {
    super(`${what} is unavailable; retry later.`);
  }
  override headers(): Record<string, string> {
    return this.retryAfterS === undefined ? {} : { 'Retry-After': String(this.retryAfterS) };
  }
}

/** 500: a bug. The detail never carries the internal message. */
export class InternalError extends ApiError {
  readonly status = 500;
  readonly code = 'internal-error';
  readonly title = 'Internal server error';
  constructor() {
    super('An unexpected error occurred.');
  }
}
