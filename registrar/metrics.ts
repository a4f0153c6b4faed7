/**
 * A minimal Prometheus text-format registry (exposition format 0.0.4): counters
 * with labels, a latency histogram, and gauges read at scrape time. No dependency.
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join('\n');
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** A gauge whose value is read when scraped (may fail: then it is left out of that scrape). */
export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => Promise<number>) {}

  async render(): Promise<string> {
    const head = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge`;
    try {
      return `${head}\n${this.name} ${await this.read()}`;
    } catch {
      return head;
    }
  }
}

/** The registrar's metrics. */
export class RegistrarMetrics {
  readonly responses = new Counter('registrar_sip_responses_total', 'SIP responses sent, by method and status.');
  readonly dropped = new Counter('registrar_sip_dropped_total', 'Requests dropped unanswered, by reason (scanner, blocked, oversized_response, …).');
  readonly authFailures = new Counter('registrar_auth_failures_total', 'Failed digest authentications, by reason.');
  readonly blocks = new Counter('registrar_blocks_total', 'Source addresses blocked for repeated failed authentications.');
  readonly latency = new Histogram('registrar_register_duration_seconds', 'Time from receiving a REGISTER to handing its answer to the engine.', [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  ]);
  private readonly gauges: Gauge[] = [];

  addGauge(gauge: Gauge): void {
    this.gauges.push(gauge);
  }

  async render(): Promise<string> {
    const parts = [this.responses.render(), this.dropped.render(), this.authFailures.render(), this.blocks.render(), this.latency.render()];
    for (const g of this.gauges) parts.push(await g.render());
    return parts.join('\n') + '\n';
  }
}
