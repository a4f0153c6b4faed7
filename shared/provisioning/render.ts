/**
 * The one template module: a small subset of Mustache for the vendor templates in
 * ./templates, and the escaping of values for the format each one writes. Pure: a
 * template is text in, text out (the files are read by ./templates.ts).
 *
 * Syntax: `{{name}}` (dotted names reach into objects: `{{line.user}}`) is the value,
 * escaped for the template's format; `{{#name}}…{{/name}}` renders its body once per
 * item of an array, once with the value in scope when it is a non-empty value, and not
 * at all when it is false, null, '' or []; `{{^name}}…{{/name}}` renders when `{{#name}}`
 * would not; `{{! comment }}`. A line holding only a section tag or a comment leaves no
 * line behind. A name the view does not have is an error, not an empty string: a
 * template that names a setting wrongly fails its tests instead of dropping the setting.
 */

/** How values are written: `xml` escapes markup, `line` formats write a value up to the end of its line. */
export type TemplateFormat = 'xml' | 'line';

export type ViewValue = string | number | boolean | null | undefined | View | readonly ViewValue[];
export interface View {
  readonly [name: string]: ViewValue;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; name: string }
  | { kind: 'section'; name: string; inverted: boolean; body: Node[] };

export interface Template {
  readonly format: TemplateFormat;
  readonly nodes: readonly Node[];
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const TAG = /\{\{\s*([#^/!]?)\s*([^}]*?)\s*\}\}/g;
/** Section, inverted, closing and comment tags alone on a line (with the line's end). */
const STANDALONE = /^[ \t]*\{\{\s*[#^/!][^}]*\}\}[ \t]*(?:\r?\n|$)/gm;

/** Parses a template; throws TemplateError on unbalanced sections. */
export function compileTemplate(source: string, format: TemplateFormat): Template {
  const text = source.replace(STANDALONE, (line) => line.trim());
  const root: Node[] = [];
  const stack: { name: string; body: Node[] }[] = [{ name: '', body: root }];
  let at = 0;
  for (const m of text.matchAll(TAG)) {
    const body = stack[stack.length - 1]!.body;
    if (m.index > at) body.push({ kind: 'text', text: text.slice(at, m.index) });
    at = m.index + m[0].length;
    const [, sigil, name] = m as unknown as [string, string, string];
    if (sigil === '!') continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$|^\.$/.test(name)) throw new TemplateError(`bad tag name "${name}"`);
    if (sigil === '#' || sigil === '^') {
      const section: Node = { kind: 'section', name, inverted: sigil === '^', body: [] };
      body.push(section);
      stack.push({ name, body: section.body });
    } else if (sigil === '/') {
      const open = stack.pop();
      if (!open || stack.length === 0 || open.name !== name) throw new TemplateError(`{{/${name}}} closes ${open?.name ? `{{#${open.name}}}` : 'nothing'}`);
    } else {
      body.push({ kind: 'value', name });
    }
  }
  if (stack.length !== 1) throw new TemplateError(`{{#${stack[stack.length - 1]!.name}}} is not closed`);
  if (at < text.length) root.push({ kind: 'text', text: text.slice(at) });
  return { format, nodes: root };
}

/** Renders `template` with `view`. Throws TemplateError when it names a value the view lacks. */
export function renderTemplate(template: Template, view: View): string {
  const escape = template.format === 'xml' ? escapeXml : escapeLine;
  const out: string[] = [];
  const walk = (nodes: readonly Node[], scopes: readonly ViewValue[]): void => {
    for (const node of nodes) {
      if (node.kind === 'text') out.push(node.text);
      else if (node.kind === 'value') {
        const v = lookup(scopes, node.name);
        if (v !== null && typeof v === 'object') throw new TemplateError(`{{${node.name}}} is not a plain value`);
        out.push(v === null ? '' : escape(String(v)));
      } else {
        const v = lookup(scopes, node.name);
        const items = Array.isArray(v) ? (v as readonly ViewValue[]) : truthy(v) ? [v] : [];
        if (node.inverted) {
          if (items.length === 0) walk(node.body, scopes);
        } else {
          for (const item of items) walk(node.body, [...scopes, item]);
        }
      }
    }
  };
  walk(template.nodes, [view]);
  return out.join('');
}

function truthy(v: ViewValue): boolean {
  return v !== false && v !== null && v !== undefined && v !== '';
}

/** `name` in the innermost scope that has its first part (`.` is the innermost scope itself). */
function lookup(scopes: readonly ViewValue[], name: string): ViewValue {
  if (name === '.') return scopes[scopes.length - 1];
  const [first, ...rest] = name.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope === null || typeof scope !== 'object' || Array.isArray(scope) || !Object.hasOwn(scope, first!)) continue;
    let v: ViewValue = (scope as View)[first!];
    for (const part of rest) {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) throw new TemplateError(`no value {{${name}}}`);
      v = (v as View)[part];
    }
    if (v === undefined) throw new TemplateError(`no value {{${name}}}`);
    return v;
  }
  throw new TemplateError(`no value {{${name}}}`);
}

// C0 and C1 controls (tab, CR and LF included), DEL, the Unicode line and paragraph separators
// (line breaks to some readers), the XML non-characters U+FFFE/U+FFFF:
// none belongs in a phone setting, and a line break would start a new key.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]/g;
const LONE_SURROGATE = /\p{Surrogate}/gu;

/** A value as text any format can hold: controls become spaces, lone surrogates U+FFFD. */
export function cleanValue(s: string): string {
  return s.replace(CONTROLS, ' ').replace(LONE_SURROGATE, '\uFFFD');
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** For XML text and attribute values (either quote). */
export function escapeXml(s: string): string {
  return cleanValue(s).replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** For `key = value` lines: the value cannot end its line. */
export function escapeLine(s: string): string {
  return cleanValue(s);
}
