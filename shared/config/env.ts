import { z } from 'zod';

/**
 * One environment variable: how to parse it, its documented default, and what it is for.
 * `secret` variables are never echoed in errors or logs.
 */
export interface EnvVar<T> {
  readonly schema: z.ZodType<T>;
  /** The default as it would be written in the environment; undefined means "unset is allowed" (optional) or required. */
  readonly default?: string;
  readonly doc: string;
  readonly secret?: boolean;
  readonly required?: boolean;
}

/** A named group of variables (one per component), documented together. */
export interface EnvSection<S extends Record<string, EnvVar<unknown>>> {
  readonly title: string;
  readonly vars: S;
}

export type SectionValues<S extends Record<string, EnvVar<unknown>>> = {
  readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never;
};

/** Raised when the environment does not parse; its message names every variable at fault, never a value. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A process entry's configuration: `read()`, or on a ConfigError its message on stderr (as
 * `<component>: …`) and exit code 2. Other errors are thrown.
 */
export function configOrExit<T>(component: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${component}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export function defineSection<S extends Record<string, EnvVar<unknown>>>(title: string, vars: S): EnvSection<S> {
  return { title, vars };
}

/** Parses one section from `env`, frozen. Throws ConfigError naming each bad variable. */
export function parseSection<S extends Record<string, EnvVar<unknown>>>(
  section: EnvSection<S>,
  env: NodeJS.ProcessEnv = process.env,
): SectionValues<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(section.vars)) {
    const raw = env[name] === undefined || env[name] === '' ? spec.default : env[name];
    if (raw === undefined) {
      if (spec.required) problems.push(`${name}: required`);
      else out[name] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(out) as SectionValues<S>;
}

// Reusable parsers: environment values are strings.
export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);
export const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
export const str = z.string().min(1);
export const url = z.string().url();
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
