import type { z } from 'zod';
import { FieldError, ValidationError } from './errors';

const CODES: Record<string, string> = {
  invalid_type: 'invalid-type',
  too_small: 'too-small',
  too_big: 'too-big',
  invalid_format: 'invalid-format',
  invalid_value: 'invalid-value',
  not_multiple_of: 'invalid-value',
  invalid_union: 'invalid-value',
  custom: 'invalid-value',
};

/** zod issues as field errors; unknown keys become one `unknown-field` error each. */
export function fieldErrors(error: z.ZodError, input: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: base ? `${base}.${key}` : key, code: 'unknown-field', message: 'unknown field' });
      }
      continue;
    }
    let value: unknown = input;
    for (const p of issue.path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[p] : undefined;
    const missing = issue.code === 'invalid_type' && value === undefined;
    out.push({
      field: base || '(body)',
      code: missing ? 'required' : (CODES[issue.code] ?? 'invalid-value'),
      message: missing ? 'required' : issue.message,
    });
  }
  return out;
}

/** Parses `input` with `schema` or throws a 422 ValidationError naming each field at fault. */
export function parseOr422<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError(fieldErrors(r.error, input));
  return r.data;
}
