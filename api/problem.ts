import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../shared/logger';
import {
  ApiError,
  BadRequestError,
  InternalError,
  MalformedJsonError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors';

/** Media type of every error response (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Namespace of the stable problem types: `urn:sipreg:problem:<code>`. */
export const PROBLEM_TYPE_PREFIX = 'urn:sipreg:problem:';

/** The problem document of an ApiError (RFC 9457 §3.1 members plus `code` and extensions). */
export function problemBody(err: ApiError, instance: string): Record<string, unknown> {
  return {
    type: PROBLEM_TYPE_PREFIX + err.code,
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    instance,
    ...err.extensions(),
  };
}

/** Writes `err` as problem+json, with its headers (e.g. `Retry-After`). */
export function sendProblem(res: Response, err: ApiError, instance: string): void {
  for (const [name, value] of Object.entries(err.headers())) res.setHeader(name, value);
  res.status(err.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problemBody(err, instance)));
}

interface HttpishError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  limit?: unknown;
}

/** SQLSTATE classes meaning "the database is not there right now" (08 connection, 57P0x shutdown, 53 resources). */
function isDbUnavailable(code: string): boolean {
  return code.startsWith('08') || code.startsWith('57P0') || code.startsWith('53');
}

/** SQLSTATE 22021 character_not_in_repertoire (e.g. NUL): text the schemas should have refused, so a 422 rather than a 500. */
const UNSTORABLE_TEXT = '22021';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Maps anything thrown in a handler to an ApiError: our own errors as they are,
 * body-parser failures to 400/413/415, text PostgreSQL cannot store to 422,
 * infrastructure failures to 503, the rest to 500.
 */
export function toApiError(err: unknown, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpishError;
  switch (e.type) {
    case 'entity.parse.failed':
      return new MalformedJsonError();
    case 'entity.too.large':
      return new PayloadTooLargeError(bodyLimit);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError('Unsupported body charset or content encoding: send UTF-8 JSON without Content-Encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new BadRequestError('The request body could not be read.');
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  // Express/router 4xx of their own, e.g. a path with invalid percent-encoding.
  if (status !== undefined && status >= 400 && status < 500) return new BadRequestError('The request could not be understood.');
  if (typeof e.code === 'string') {
    if (e.code === UNSTORABLE_TEXT) {
      return new ValidationError([{ field: '(body)', code: 'invalid-value', message: 'contains a character that cannot be stored (NUL or invalid Unicode)' }]);
    }
    if (NETWORK_CODES.has(e.code) || (/^[0-9A-Z]{5}$/.test(e.code) && isDbUnavailable(e.code))) {
      return new ServiceUnavailableError('A backing service');
    }
  }
  if (err instanceof Error && /timeout exceeded when trying to connect|Connection terminated|Connection is closed|Command timed out|max retries per request/i.test(err.message)) {
    return new ServiceUnavailableError('A backing service');
  }
  return new InternalError();
}

/** Express error middleware: every error ends as problem+json; 5xx are logged with their cause. */
export function problemHandler(log: Logger, bodyLimit: number): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const apiErr = toApiError(err, bodyLimit);
    if (apiErr.status >= 500) {
      const cause = err instanceof Error ? { name: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack } : { value: String(err) };
      log.error({ err: cause, method: req.method, path: req.path }, 'request failed');
    }
    sendProblem(res, apiErr, req.originalUrl.split('?')[0] ?? '/');
  };
}
