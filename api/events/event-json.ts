import type { StoredEvent } from '../../shared/events/catalog';

/** Who reads an event: operators see everything; an account (and its webhooks) not the operators' keys and addresses. */
export type EventViewer = 'operator' | 'account';

/**
 * An event as the API serves it: lists, streams and webhook deliveries alike.
 * An audit event of an operator's action on an account (`actor: operator`) shows
 * that account's readers who did it in kind only, never the operator's key id
 * or address.
 */
export function eventJson(e: StoredEvent, viewer: EventViewer): Record<string, unknown> {
  let data = e.data;
  if (viewer === 'account' && data.actor === 'operator') {
    const { actorKeyId: _k, clientIp: _ip, ...rest } = data;
    data = rest;
  }
  return { id: e.id, type: e.type, at: e.at, accountId: e.accountId, deviceId: e.deviceId, data };
}
