import type { Logger } from '../shared/logger';
import type { Binding, DeviceLiveStatus, Invalidation, RegistrationStore } from '../shared/registration-store';
import { ServiceUnavailableError } from './errors';

/** Reads of live state: a Redis failure becomes a 503 (the device row alone would misreport its status). */
export async function liveStatus(store: RegistrationStore, deviceId: string): Promise<DeviceLiveStatus> {
  try {
    return await store.getStatus(deviceId);
  } catch {
    throw new ServiceUnavailableError('Live registration state (Redis)');
  }
}

export async function liveStatuses(store: RegistrationStore, deviceIds: string[]): Promise<Map<string, DeviceLiveStatus>> {
  try {
    return await store.getStatuses(deviceIds);
  } catch {
    throw new ServiceUnavailableError('Live registration state (Redis)');
  }
}

/** What a device that never registered (or whose live state is unknown) shows. */
export const PENDING: DeviceLiveStatus = {
  registrationStatus: 'pending',
  lastRegistration: null,
  ipAddress: null,
  port: null,
  transport: null,
  userAgent: null,
  expiresAt: null,
  lastFailure: null,
};

/**
 * liveStatus() for the answer to a change PostgreSQL has already committed: a
 * Redis failure is logged and PENDING answered instead of a 503, since the
 * change stands and a retry would repeat it (as announceAuthChange does).
 */
export async function liveStatusAfterWrite(store: RegistrationStore, log: Logger, deviceId: string): Promise<DeviceLiveStatus> {
  try {
    return await store.getStatus(deviceId);
  } catch (err) {
    log.warn({ deviceId, err: { message: (err as Error).message } }, 'could not read live registration state from Redis after a committed change; answered as pending');
    return PENDING;
  }
}

/** Side effects on live state after a committed credential change. */
export interface AuthChange {
  readonly invalidation: Invalidation;
  /** Remove every binding (deactivation, reset without grace). */
  readonly removeBindings?: boolean;
  /** The device is gone: forget its live state. */
  readonly forget?: boolean;
}

/**
 * Tells registrars about a change PostgreSQL has already committed. A Redis
 * failure here is logged, not returned: the change stands, registrar caches
 * expire on their own TTL, and a retry of the request would repeat it (a
 * second password reset would issue yet another password). Returns the bindings
 * it removed (for their `removed` events).
 */
export async function announceAuthChange(store: RegistrationStore, log: Logger, change: AuthChange): Promise<Binding[]> {
  const { deviceId } = change.invalidation;
  let removed: Binding[] = [];
  try {
    if (change.forget) await store.forgetDevice(deviceId);
    else if (change.removeBindings) removed = await store.removeBindings(deviceId);
    await store.publishInvalidation(change.invalidation);
  } catch (err) {
    log.error({ deviceId, err: { message: (err as Error).message } }, 'could not publish a credential change to Redis; registrar caches expire on their TTL');
  }
  return removed;
}
