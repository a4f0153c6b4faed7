import type { Pool } from 'pg';
import type { CredentialCipher } from '../../shared/credentials';
import { insertEvents } from '../../shared/events/event-store';
import type { EventNotifications } from '../../shared/events/event-notifications';
import { coalesced } from '../../shared/coalesced';
import type { Logger } from '../../shared/logger';
import { eventJson } from '../events/event-json';
import type { ApiMetrics } from '../metrics';
import { retryDelayMs } from './backoff';
import { DeliveryResult, postWebhook } from './http-delivery';
import { webhookHeaders } from './signature';
import { AttemptOutcome, claimDeliveries, ClaimedDelivery, disableFailingWebhook, dispatchEvents, recordAttempt, secretContext } from './webhooks-repo';

export interface WebhookWorkerOptions {
  allowPrivateTargets: boolean;
  timeoutMs: number;
  /** Attempts of one webhook in flight at once (across processes). */
  perWebhook: number;
  /** Attempts in flight in this process. */
  maxInFlight: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** How long a delivery is retried, from the event's dispatch, before it is marked failed. */
  retryForMs: number;
  /** A webhook failing this long without a success is disabled. */
  disableAfterMs: number;
  /** How often due deliveries and new events are looked for without a wake-up. */
  pollMs: number;
  now?: () => number;
}

/** Events read per dispatch transaction. */
const DISPATCH_BATCH = 500;
/** A claim lasts the attempt's timeout and this margin; past it another process may take the delivery over. */
const LEASE_MARGIN_MS = 5_000;

/**
 * The webhook machinery of one API process: dispatches new events into
 * deliveries (one process at a time) and attempts due deliveries (every process,
 * each claim leased in PostgreSQL), signing each POST (Standard Webhooks) and
 * retrying failures with exponential backoff and jitter until WEBHOOK_RETRY_FOR_S.
 * Nothing here is on a registration's path: a dead receiver only holds its own
 * webhook's slots.
 */
export class WebhookWorker {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly unsubscribe: () => void;
  private readonly passNow: () => void;
  /** The pass running now, if any (stop() waits for it). */
  private running: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    private readonly cipher: CredentialCipher,
    notifications: EventNotifications,
    private readonly metrics: ApiMetrics,
    private readonly log: Logger,
    private readonly opts: WebhookWorkerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.passNow = coalesced(
      () => (this.running = this.pass().finally(() => (this.running = null))),
      (err) => log.debug({ err: err.message }, 'webhook pass failed; retried at the next poll'),
    );
    this.unsubscribe = notifications.subscribe(() => this.wake());
    this.timer = setInterval(() => this.wake(), opts.pollMs);
    this.timer.unref();
  }

  /** Dispatches and delivers now (one pass at a time, another right after if asked meanwhile). */
  wake(): void {
    if (!this.stopped) this.passNow();
  }

  private async pass(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const { events, deliveries } = await dispatchEvents(this.pool, DISPATCH_BATCH, (e) => JSON.stringify(eventJson(e, 'account')));
      if (deliveries > 0) this.metrics.webhookEventsDispatched.inc(deliveries);
      if (events < DISPATCH_BATCH) break;
    }
    const room = this.opts.maxInFlight - this.inFlight.size;
    if (room <= 0 || this.stopped) return;
    const claimed = await claimDeliveries(this.pool, { limit: room, perWebhook: this.opts.perWebhook, leaseMs: this.opts.timeoutMs + LEASE_MARGIN_MS });
    for (const d of claimed) {
      const p = this.attempt(d)
        .catch((err: Error) => this.log.warn({ deliveryId: d.id, err: err.message }, 'could not record a webhook attempt; its lease ends and it is tried again'))
        .finally(() => {
          this.inFlight.delete(p);
          this.wake(); // a slot is free
        });
      this.inFlight.add(p);
    }
  }

  /** The signing secrets of a delivery: the current one, and the previous one during a rotation's grace period. */
  private secrets(d: ClaimedDelivery): string[] {
    const secrets = [this.cipher.decrypt(d.secret_enc, secretContext(d.webhook_id))];
    if (d.prev_secret_enc && d.prev_secret_expires_at && d.prev_secret_expires_at.getTime() > this.now()) {
      secrets.push(this.cipher.decrypt(d.prev_secret_enc, secretContext(d.webhook_id)));
    }
    return secrets;
  }

  /** One POST of a claimed delivery; a secret that cannot be decrypted is a failed attempt like any other (retried, then failed). */
  private async post(d: ClaimedDelivery): Promise<DeliveryResult> {
    let secrets: string[];
    try {
      secrets = this.secrets(d);
    } catch {
      return { ok: false, status: null, error: 'the signing secret cannot be decrypted (is its key still in CREDENTIAL_KEYS?)', durationMs: 0 };
    }
    const headers = webhookHeaders(secrets, d.event_id, Math.floor(this.now() / 1000), d.payload);
    const result = await postWebhook(d.url, d.payload, headers, { timeoutMs: this.opts.timeoutMs, allowPrivate: this.opts.allowPrivateTargets });
    this.metrics.webhookLatency.observe(result.durationMs / 1000);
    return result;
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const result = await this.post(d);
    let outcome: AttemptOutcome;
    if (result.ok) {
      outcome = { status: result.status, error: null, next: { state: 'delivered' } };
      this.metrics.webhookAttempts.inc({ result: 'delivered' });
    } else {
      const retryAt = this.now() + retryDelayMs(d.attempts, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxDelayMs });
      const giveUp = retryAt - d.created_at.getTime() > this.opts.retryForMs;
      outcome = { status: result.status, error: result.error, next: giveUp ? { state: 'failed' } : { state: 'pending', retryAt: new Date(retryAt) } };
      this.metrics.webhookAttempts.inc({ result: giveUp ? 'failed' : 'retry' });
      this.log.info({ deliveryId: d.id, webhookId: d.webhook_id, attempts: d.attempts, status: result.status, error: result.error, giveUp }, 'webhook delivery attempt failed');
    }
    const failingSince = await recordAttempt(this.pool, d, outcome);
    if (failingSince && this.now() - failingSince.getTime() >= this.opts.disableAfterMs) await this.disable(d, failingSince);
  }

  /** Disables a webhook that kept failing, with a `webhook.disabled` event for its account. */
  private async disable(d: ClaimedDelivery, failingSince: Date): Promise<void> {
    const reason = `every delivery attempt failed since ${failingSince.toISOString()}`;
    const disabled = await disableFailingWebhook(this.pool, d.webhook_id, new Date(this.now() - this.opts.disableAfterMs), reason);
    if (!disabled) return;
    this.metrics.webhooksDisabled.inc();
    this.log.warn({ webhookId: d.webhook_id, accountId: d.account_id, failingSince }, 'webhook disabled after failing too long');
    await insertEvents(this.pool, [{ type: 'webhook.disabled', at: this.now(), accountId: d.account_id, deviceId: null, data: { webhookId: d.webhook_id, reason } }]).catch((err: Error) =>
      this.log.error({ webhookId: d.webhook_id, err: err.message }, 'webhook disabled, but its webhook.disabled event could not be written'),
    );
  }

  /** Stops taking work and waits (up to `timeoutMs`) for attempts in flight. Safe to call twice. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([this.running, ...this.inFlight]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
