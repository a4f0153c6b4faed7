import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/**
 * The provisioning server's Prometheus metrics, served on their own listener
 * (PROVISIONING_METRICS_HOST/PORT), not on the port phones use. docs/operations.md lists them.
 */
export class ProvisioningMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'provisioning_requests_total',
    help: 'Configuration requests by outcome: provisioned, challenged, wrong_credentials, unknown_mac, bad_token, mac_mismatch, blocked, device_inactive, unknown_manufacturer, file_not_for_vendor, no_such_file, stale_nonce, replay, method_not_allowed, unavailable.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly eventsWritten = new Counter({ name: 'provisioning_events_written_total', help: 'Provisioning events written to PostgreSQL.', registers: [this.registry] });
  readonly eventsDropped = new Counter({
    name: 'provisioning_events_dropped_total',
    help: 'Provisioning events lost, by reason: rate_limited (a device\'s or source\'s budget), queue_full, unstorable, shutdown.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
