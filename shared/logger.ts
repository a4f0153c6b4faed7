import pino, { Logger } from 'pino';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log object.
 * Secrets never reach a log line, even when a caller logs a whole object by mistake.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'sipPassword', '*.sipPassword', '*.*.sipPassword',
  'ha1', 'ha1Md5', 'ha1Sha256', '*.ha1Md5', '*.ha1Sha256', 'passwordEnc', '*.passwordEnc',
  'apiKey', '*.apiKey', 'key', '*.key', 'secret', '*.secret', 'token', '*.token',
  'authorization', '*.authorization', 'headers["x-auth-token"]', '*.headers["x-auth-token"]',
  'headers.authorization', '*.headers.authorization',
];

/** Creates the process logger: JSON lines on stdout, component name in every line. */
export function createLogger(component: string, level: string): Logger {
  return pino({
    name: component,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
