/**
 * Registrar errors: each has a stable code and the SIP status it maps to, so the
 * adapter turns any of them into one response without parsing messages.
 */
export class RegistrarError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly reason: string,
    message: string,
    /** Extra response headers (e.g. Min-Expires, Unsupported, Retry-After). */
    readonly headers: readonly (readonly [string, string])[] = [],
  ) {
    super(message);
    this.name = 'RegistrarError';
  }
}

/** 400: the request is malformed (RFC 3261 §21.4.1). */
export class BadRequestError extends RegistrarError {
  constructor(code: string, message: string) {
    super(code, 400, 'Bad Request', message);
    this.name = 'BadRequestError';
  }
}

/** 400 Invalid CSeq number: RFC 3261 §10.3 step 7, same Call-ID and a CSeq not higher than stored. */
export class OutOfOrderError extends RegistrarError {
  constructor() {
    super('CSEQ_OUT_OF_ORDER', 400, 'Invalid CSeq number', 'same Call-ID with a CSeq not higher than the stored binding');
    this.name = 'OutOfOrderError';
  }
}

/** 423 Interval Too Brief with Min-Expires (RFC 3261 §10.3 step 7, §21.4.17). */
export class IntervalTooBriefError extends RegistrarError {
  constructor(readonly minExpires: number) {
    super('INTERVAL_TOO_BRIEF', 423, 'Interval Too Brief', `expiry below ${minExpires}s`, [['Min-Expires', String(minExpires)]]);
    this.name = 'IntervalTooBriefError';
  }
}

/** 420 Bad Extension with Unsupported (RFC 3261 §8.2.2.3). */
export class BadExtensionError extends RegistrarError {
  constructor(readonly unsupported: string[]) {
    super('BAD_EXTENSION', 420, 'Bad Extension', `unsupported option tags: ${unsupported.join(', ')}`, [['Unsupported', unsupported.join(', ')]]);
    this.name = 'BadExtensionError';
  }
}

/** 503 Too Many Registered Contacts: past the binding limit under the `reject` policy. */
export class TooManyBindingsError extends RegistrarError {
  constructor(readonly max: number) {
    super('TOO_MANY_BINDINGS', 503, 'Too Many Registered Contacts', `more than ${max} bindings`);
    this.name = 'TooManyBindingsError';
  }
}

/**
 * A Retry-After drawn evenly from [base, 2 × base] seconds: phones turned away together
 * (an outage, a storm) come back spread over a window instead of all at once.
 */
export function jitteredRetryAfter(baseS: number, random: () => number = Math.random): number {
  return baseS + Math.floor(random() * (baseS + 1));
}

/** 503 with Retry-After: a backing service (Redis, PostgreSQL) is unavailable, or the registrar is overloaded. */
export class ServiceUnavailableError extends RegistrarError {
  constructor(code: string, retryAfterS: number, message: string) {
    super(code, 503, 'Service Unavailable', message, [['Retry-After', String(jitteredRetryAfter(retryAfterS))]]);
    this.name = 'ServiceUnavailableError';
  }
}
