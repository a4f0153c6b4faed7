import type { EventData, NewEvent, ProvisioningFailureReason } from '../shared/events/catalog';
import { storableText } from '../shared/events/catalog';
import { KeyedTokenBuckets, TokenBucket } from '../shared/token-buckets';

/** Where events go (an EventWriter: queued, written in the background). */
export interface EventSink {
  record(event: NewEvent): void;
}

/** Who asked, as every provisioning event records it. */
export interface FetchSource {
  sourceIp: string;
  userAgent: string | undefined;
  file: string;
}

/**
 * Events per device and per account at most (a burst, refilled each minute): a phone
 * stuck in a boot loop, or anyone who knows a MAC, must not bury a device's history.
 * What the budget leaves out is counted, not recorded.
 */
const PER_SUBJECT_BURST = 20;
const PER_SUBJECT_PER_MIN = 20;
const MAX_TRACKED_SUBJECTS = 100_000;
/** Events of no account (blocks of a source) per second at most. */
const UNATTRIBUTED_PER_S = 10;

/**
 * Turns what the provisioning server decided into events (shared/events/catalog.ts).
 * Never a password, token, nonce or Authorization header.
 */
export class ProvisioningEvents {
  private readonly perSubject: KeyedTokenBuckets;
  private readonly unattributed: TokenBucket;

  constructor(private readonly sink: EventSink, private readonly now: () => number, private readonly onRateLimited: () => void = () => undefined) {
    this.perSubject = new KeyedTokenBuckets({ burst: PER_SUBJECT_BURST, perMin: PER_SUBJECT_PER_MIN, maxKeys: MAX_TRACKED_SUBJECTS, now });
    this.unattributed = new TokenBucket(UNATTRIBUTED_PER_S, UNATTRIBUTED_PER_S, now);
  }

  /** A file served to a device's phone. */
  provisioned(deviceId: string, accountId: string, src: FetchSource, vendor: string): void {
    this.emit(deviceId, { type: 'provisioned', accountId, deviceId, data: { ...data(src), vendor } });
  }

  /** A refused fetch about a device (`extra`: manufacturer, vendor where they explain it). */
  failedOnDevice(deviceId: string, accountId: string, src: FetchSource, reason: ProvisioningFailureReason, extra: EventData = {}): void {
    this.emit(deviceId, { type: 'provisioning_failed', accountId, deviceId, data: { ...data(src), reason, ...extra } });
  }

  /** The account's credentials asked for a MAC none of its devices has. */
  unknownMac(accountId: string, src: FetchSource, mac: string): void {
    this.emit(`account:${accountId}`, { type: 'provisioning_failed', accountId, deviceId: null, data: { ...data(src), reason: 'unknown_mac', mac } });
  }

  /** A source address blocked after failed provisioning authentications (operators' feed). */
  blocked(src: FetchSource, failures: number): void {
    if (!this.unattributed.take()) return this.onRateLimited();
    this.sink.record({ type: 'blocked', at: this.now(), accountId: null, deviceId: null, data: { ...data(src), failures, service: 'provisioning' } });
  }

  private emit(key: string, e: Omit<NewEvent, 'at'>): void {
    if (!this.perSubject.take(key)) return this.onRateLimited();
    this.sink.record({ ...e, at: this.now() });
  }
}

function data(src: FetchSource): EventData {
  const d: EventData = { sourceIp: src.sourceIp, file: storableText(src.file) };
  if (src.userAgent) d.userAgent = storableText(src.userAgent.slice(0, 256));
  return d;
}
