import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { addScrapeGauge } from '../shared/metrics';

/**
 * The registrar's Prometheus metrics (prom-client), one registry per process
 * (tests start several registrars in one process). docs/operations.md lists them.
 */
export class RegistrarMetrics {
  readonly registry = new Registry();
  readonly responses = new Counter({ name: 'registrar_sip_responses_total', help: 'SIP responses sent, by method and status.', labelNames: ['method', 'status'] as const, registers: [this.registry] });
  readonly shed = new Counter({ name: 'registrar_shed_total', help: 'Requests answered 503 with Retry-After at once because REGISTRAR_MAX_IN_FLIGHT requests were being handled (load shedding).', registers: [this.registry] });
  readonly dropped = new Counter({ name: 'registrar_sip_dropped_total', help: 'Requests dropped unanswered, by reason (scanner, blocked, oversized_response, …).', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly registrations = new Counter({
    name: 'registrar_registrations_total',
    help: 'REGISTER requests by outcome (ok, challenged, auth_failed, rejected, blocked, dropped, unavailable) and reason (the auth_failed or rejected reason, empty otherwise).',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly bindingChanges = new Counter({ name: 'registrar_binding_changes_total', help: 'Bindings registered, refreshed, unregistered and expired.', labelNames: ['type'] as const, registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'registrar_auth_failures_total', help: 'Failed digest authentications and authorisations, by reason.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly blocks = new Counter({ name: 'registrar_blocks_total', help: 'Source addresses blocked for repeated failed authentications.', registers: [this.registry] });
  readonly eventsWritten = new Counter({ name: 'registrar_events_written_total', help: 'Events written to PostgreSQL.', registers: [this.registry] });
  readonly eventsDropped = new Counter({
    name: 'registrar_events_dropped_total',
    help: 'Events lost, by reason: queue_full (PostgreSQL down or slow too long), unstorable (refused by PostgreSQL), shutdown, rate_limited (events of no account past REGISTRAR_UNATTRIBUTED_EVENTS_PER_S).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'registrar_register_duration_seconds',
    help: 'Time from receiving a REGISTER to handing its answer to the engine.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge read when scraped (shared/metrics.ts). */
  addGauge(name: string, help: string, read: () => Promise<number>): void {
    addScrapeGauge(this.registry, name, help, read);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
