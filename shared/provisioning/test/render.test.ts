import fc from 'fast-check';
import { cleanValue, compileTemplate, escapeLine, escapeXml, renderTemplate, TemplateError } from '../render';
import { parseXml } from '../../testing/provisioning-parsers';

const render = (source: string, view: Record<string, unknown>, format: 'xml' | 'line' = 'line'): string =>
  renderTemplate(compileTemplate(source, format), view as never);

describe('the template engine', () => {
  it('fills values, dotted names and sections over arrays, values and objects', () => {
    expect(render('a={{a}} b={{o.b}}', { a: 1, o: { b: 'x' } })).toBe('a=1 b=x');
    expect(render('{{#list}}[{{n}}]{{/list}}', { list: [{ n: 1 }, { n: 2 }] })).toBe('[1][2]');
    expect(render('{{#v}}<{{.}}>{{/v}}', { v: 'x' })).toBe('<x>');
    expect(render('{{#o}}{{k}}/{{outer}}{{/o}}', { o: { k: 'inner' }, outer: 'up' })).toBe('inner/up');
    expect(render('{{#n}}zero is a value{{/n}}', { n: 0 })).toBe('zero is a value');
  });

  it('skips a section for false, null, empty text and an empty list, and renders its inverse then', () => {
    for (const v of [false, null, '', []]) {
      expect(render('{{#v}}yes{{/v}}{{^v}}no{{/v}}', { v })).toBe('no');
    }
    expect(render('{{#v}}yes{{/v}}{{^v}}no{{/v}}', { v: true })).toBe('yes');
  });

  it('writes null as nothing', () => {
    expect(render('[{{v}}]', { v: null })).toBe('[]');
  });

  it('leaves no line behind for a line holding only a section tag or a comment', () => {
    const source = 'a\n{{! a comment }}\n  {{#v}}\nb\n  {{/v}}\n{{^v}}\nc\n{{/v}}\nd\n';
    expect(render(source, { v: true })).toBe('a\nb\nd\n');
    expect(render(source, { v: false })).toBe('a\nc\nd\n');
    // A tag inside a line keeps the line.
    expect(render('x {{#v}}y{{/v}} z\n', { v: true })).toBe('x y z\n');
  });

  it('refuses a name the view lacks, an object as a value, and unbalanced or malformed tags', () => {
    expect(() => render('{{missing}}', {})).toThrow(TemplateError);
    expect(() => render('{{o.missing}}', { o: {} })).toThrow(TemplateError);
    expect(() => render('{{o}}', { o: { a: 1 } })).toThrow(TemplateError);
    expect(() => compileTemplate('{{#a}}x', 'line')).toThrow(TemplateError);
    expect(() => compileTemplate('{{#a}}x{{/b}}', 'line')).toThrow(TemplateError);
    expect(() => compileTemplate('x{{/a}}', 'line')).toThrow(TemplateError);
    expect(() => compileTemplate('{{a b}}', 'line')).toThrow(TemplateError);
  });

  it('does not reach into inherited properties of the view', () => {
    expect(() => render('{{constructor}}', {})).toThrow(TemplateError);
    expect(() => render('{{toString}}', {})).toThrow(TemplateError);
  });

  it('escapes values for XML, and never the template text', () => {
    expect(render('<a x="{{v}}">{{v}}</a>', { v: `<b>&"'` }, 'xml')).toBe('<a x="&lt;b&gt;&amp;&quot;&apos;">&lt;b&gt;&amp;&quot;&apos;</a>');
    expect(render('<a>{{v}}</a>', { v: 'plain' }, 'xml')).toBe('<a>plain</a>');
  });
});

describe('escaping', () => {
  it('replaces controls, line breaks and Unicode separators with spaces, lone surrogates with U+FFFD', () => {
    expect(cleanValue('a\nb\rc\td\u0000e\u007ff\u0085g\u2028h\u2029i')).toBe('a b c d e f g h i');
    expect(cleanValue('x\ud800y')).toBe('x\uFFFDy');
    expect(cleanValue('\ufffe\uffff')).toBe('  ');
    expect(cleanValue('Zoë 😀 日本')).toBe('Zoë 😀 日本');
  });

  it('a line value never holds a line break, whatever it was', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        // eslint-disable-next-line no-control-regex -- the line breaks of any reader
        expect(escapeLine(s)).not.toMatch(/[\r\n\u000b\u000c\u0085\u2028\u2029]/);
        expect(escapeLine(s)).toHaveLength(s.length);
      }),
    );
  });

  it('an XML value is always text: in an element and in an attribute it parses back to the cleaned value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        const doc = parseXml(`<r a="${escapeXml(s)}" b='${escapeXml(s)}'>${escapeXml(s)}</r>`);
        expect(doc.children).toEqual([]);
        expect(doc.text).toBe(cleanValue(s));
        expect(doc.attributes).toEqual({ a: cleanValue(s), b: cleanValue(s) });
      }),
    );
  });
});
