import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addScrapeGauge } from '../shared/metrics';

/**
 * The API process's Prometheus metrics (prom-client; one registry per API, since
 * tests run several in one process), served on their own listener
 * (API_METRICS_HOST/PORT), not on the public API port. docs/operations.md lists them.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'api_http_requests_total', help: 'HTTP requests by method, route template and status.', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'api_http_request_duration_seconds',
    help: 'HTTP request time by method and route template (event streams excluded).',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly sseClients = new Gauge({ name: 'api_sse_clients', help: 'Open event streams (Server-Sent Events) in this process.', registers: [this.registry] });
  readonly eventsWritten = new Counter({ name: 'api_events_written_total', help: 'Audit (and API-caused removed) events written.', registers: [this.registry] });
  readonly eventsDropped = new Counter({ name: 'api_events_dropped_total', help: 'Audit events that could not be written after an action done in Redis (kick, unblock).', registers: [this.registry] });
  readonly webhookAttempts = new Counter({
    name: 'api_webhook_attempts_total',
    help: 'Webhook delivery attempts by result: delivered (2xx), retry (failed, will be retried), failed (failed for good).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly webhookLatency = new Histogram({
    name: 'api_webhook_attempt_duration_seconds',
    help: 'Time of one webhook delivery attempt, to the receiver\'s answer or the timeout.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly webhookEventsDispatched = new Counter({ name: 'api_webhook_deliveries_created_total', help: 'Deliveries created from events (one per event and matching webhook).', registers: [this.registry] });
  readonly webhooksDisabled = new Counter({ name: 'api_webhooks_disabled_total', help: 'Webhooks disabled automatically after failing for WEBHOOK_DISABLE_AFTER_DAYS.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge read when scraped (shared/metrics.ts). */
  addGauge(name: string, help: string, read: () => Promise<number>): void {
    addScrapeGauge(this.registry, name, help, read);
  }

  /** Express middleware: counts and times every request by its route template (never the raw path, which holds ids). */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : 'unmatched';
        this.requests.inc({ method: req.method, route, status: String(res.statusCode) });
        if (!res.getHeader('content-type')?.toString().startsWith('text/event-stream')) {
          this.duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
        }
      });
      next();
    };
  }
}
