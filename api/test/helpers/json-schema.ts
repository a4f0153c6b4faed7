/**
 * A small JSON Schema (2020-12 subset) validator for checking real responses
 * against the OpenAPI document. It throws on any keyword it does not know, so
 * a schema it cannot check fails the test instead of passing silently.
 */

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', 'oneOf',
  'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'description', 'examples', 'default', 'title', 'propertyNames',
]);

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(actual: string, expected: string): boolean {
  return actual === expected || (expected === 'number' && actual === 'integer');
}

/** Returns the list of violations of `value` against `schema` (empty when valid). */
export function validate(schema: Schema, value: unknown, root: Schema, path = '$'): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`json-schema validator: unsupported keyword "${k}" at ${path}`);
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((o, seg) => (o as Schema)[seg], root);
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    return validate(target as Schema, value, root, path);
  }
  const errs: string[] = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((x) => typeMatches(t, x))) return [`${path}: expected ${types.join('|')}, got ${t}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errs.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if ('const' in schema && schema.const !== value) errs.push(`${path}: expected const ${JSON.stringify(schema.const)}`);
  if (schema.anyOf && !(schema.anyOf as Schema[]).some((s) => validate(s, value, root, path).length === 0)) errs.push(`${path}: matches no anyOf branch`);
  if (schema.oneOf && (schema.oneOf as Schema[]).filter((s) => validate(s, value, root, path).length === 0).length !== 1) errs.push(`${path}: must match exactly one oneOf branch`);
  if (typeof value === 'string') {
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) errs.push(`${path}: not a date-time`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${path}: does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errs.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${path}: above ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errs.push(`${path}: not above ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) errs.push(`${path}: not below ${schema.exclusiveMaximum}`);
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    if (schema.propertyNames) for (const k of Object.keys(obj)) errs.push(...validate(schema.propertyNames as Schema, k, root, `${path}{${k}}`));
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${path}: missing required "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...validate(props[k], v, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}: unexpected property "${k}"`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...validate(schema.additionalProperties as Schema, v, root, `${path}.${k}`));
    }
  }
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errs.push(...validate(schema.items as Schema, v, root, `${path}[${i}]`)));
  return errs;
}

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/**
 * Checks one real response against the OpenAPI document: the path and method
 * must be documented, the status listed, and the body valid against its schema.
 * `/v1` paths are checked as their `/v2` alias. Returns the violations.
 */
export function checkResponse(doc: Schema, method: string, urlPath: string, status: number, contentType: string | null, body: unknown): string[] {
  const pathname = urlPath.split('?')[0]!.replace(/^\/v1\//, '/v2/');
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  const template = Object.keys(paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname));
  if (!template) return [`${method} ${pathname}: path not in the OpenAPI document`];
  const op = paths[template]![method.toLowerCase()];
  if (!op) return [`${method} ${template}: method not in the OpenAPI document`];
  const response = op.responses[String(status)];
  if (!response) return [`${method} ${template}: status ${status} not documented`];
  if (!response.content) return body === undefined || body === '' ? [] : [`${method} ${template} ${status}: documented without a body but one was sent`];
  const mediaType = (contentType ?? '').split(';')[0]!.trim();
  const media = response.content[mediaType];
  if (!media) return [`${method} ${template} ${status}: content type ${mediaType} not documented`];
  return validate(media.schema, body, doc).map((e) => `${method} ${template} ${status}: ${e}`);
}
