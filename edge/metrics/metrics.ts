/**
 * A small Prometheus registry: counters and gauges with labels, rendered in
 * the text exposition format (version 0.0.4). Label values that come from the
 * network are bounded by the callers (see `methodLabel`).
 */

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
  /** Series keyed by label values joined with NUL. */
  readonly series: Map<string, { values: readonly string[]; value: number }>;
  readonly collect?: () => ReadonlyArray<readonly [readonly string[], number]>;
}

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (!names.length) return '';
  return `{${names.map((n, i) => `${n}="${escape(values[i] ?? '')}"`).join(',')}}`;
}

/** A set of metric families. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  /** Declares a counter; returns a function that increments the series of the given label values. */
  counter(name: string, help: string, labelNames: readonly string[] = []): (...values: string[]) => void {
    const f: Family = { help, type: 'counter', labelNames, series: new Map() };
    this.families.set(name, f);
    return (...values: string[]) => {
      const key = values.join('\0');
      const s = f.series.get(key);
      if (s) s.value++;
      else f.series.set(key, { values, value: 1 });
    };
  }

  /** Declares a gauge read at scrape time: `collect` returns [label values, value] pairs. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: () => ReadonlyArray<readonly [readonly string[], number]>): void {
    this.families.set(name, { help, type: 'gauge', labelNames, series: new Map(), collect });
  }

  /** The whole registry in Prometheus text format. */
  render(): string {
    let out = '';
    for (const [name, f] of this.families) {
      out += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
      if (f.collect) for (const [values, v] of f.collect()) out += `${name}${renderLabels(f.labelNames, values)} ${v}\n`;
      for (const s of f.series.values()) out += `${name}${renderLabels(f.labelNames, s.values)} ${s.value}\n`;
    }
    return out;
  }
}

const KNOWN_METHODS = new Set([
  'REGISTER', 'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'SUBSCRIBE', 'NOTIFY',
  'PUBLISH', 'MESSAGE', 'INFO', 'PRACK', 'UPDATE', 'REFER',
]);

/** A method as a label value: known methods as-is, anything else `other` (keeps cardinality bounded). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}
