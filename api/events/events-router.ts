import { RequestHandler, Response, Router } from 'express';
import { EventScope, listEvents, parsePosition, Position } from '../../shared/events/event-store';
import { accountScope, AppDeps, itemScope, param, principalOf, requireOperator } from '../context';
import { decodeSequenceCursor, encodeSequenceCursor } from '../cursors';
import { deviceNotFound, DevicesRepo } from '../devices-repo';
import { BadRequestError, ForbiddenError, ServiceUnavailableError, UnauthenticatedError } from '../errors';
import { DEVICE_ID } from '../ids';
import { AccountEventsQuery, DEFAULT_PAGE_LIMIT, DeviceEventsQuery, EventStreamQuery } from '../schemas';
import { parseOr422 } from '../validation';
import type { EventHub } from './event-hub';
import { eventJson } from './event-json';
import { mintStreamToken, verifyStreamToken } from './stream-tokens';

/** What the events routes need beyond the app's dependencies. */
export interface EventRoutesDeps {
  hub: EventHub;
  /** HMAC key of stream tokens (API_STREAM_TOKEN_SECRET). */
  streamTokenSecret: string;
  streamTokenTtlMs: number;
  /** Whether an API key id is still valid (not revoked). */
  keyActive: (keyId: string) => Promise<boolean>;
  /** The app's X-Auth-Token middleware. */
  authenticate: RequestHandler;
}

/** Seconds a client is asked to wait when this process has no room for another stream. */
const STREAM_BUSY_RETRY_AFTER_S = 5;

/**
 * Event history per device and per account, the operators' feed of events that
 * belong to no account, and the live stream (Server-Sent Events) with its tokens.
 */
export function eventsRouter(deps: AppDeps, repo: DevicesRepo, ev: EventRoutesDeps): { beforeAuth: Router; afterAuth: Router } {
  const now = deps.now ?? Date.now;
  const { pool } = deps;

  const page = async (res: Response, scope: EventScope, q: { limit?: number; cursor?: string; type?: string[]; since?: string; deviceId?: string }): Promise<void> => {
    const result = await listEvents(
      pool,
      scope,
      { types: q.type, since: q.since !== undefined ? Date.parse(q.since) : undefined, deviceId: q.deviceId },
      q.cursor !== undefined ? decodeSequenceCursor(q.cursor) : null,
      q.limit ?? DEFAULT_PAGE_LIMIT,
    );
    const viewer = principalOf(res).kind;
    res.json({ data: result.events.map((e) => eventJson(e, viewer)), has_more: result.next !== null, next_cursor: result.next !== null ? encodeSequenceCursor(result.next) : null });
  };

  const afterAuth = Router();

  afterAuth.get('/accounts/:accountId/devices/sip/:deviceId/events', async (req, res) => {
    const { accountId, id: deviceId } = itemScope(req, res, 'deviceId', DEVICE_ID, deviceNotFound);
    const q = parseOr422(DeviceEventsQuery, req.query);
    if (!(await repo.get(accountId, deviceId))) throw deviceNotFound();
    await page(res, { accountId, deviceId }, q);
  });

  afterAuth.get('/accounts/:accountId/events', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    await page(res, { accountId }, parseOr422(AccountEventsQuery, req.query));
  });

  afterAuth.get('/sip-events', async (req, res) => {
    requireOperator(res);
    await page(res, { unattributed: true }, parseOr422(AccountEventsQuery, req.query));
  });

  afterAuth.post('/accounts/:accountId/events/stream-tokens', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    const p = principalOf(res);
    const expiresAt = now() + ev.streamTokenTtlMs;
    const token = mintStreamToken(ev.streamTokenSecret, { accountId, keyId: p.keyId, operator: p.kind === 'operator', expiresAt });
    res.status(201).set('Cache-Control', 'no-store').json({ token, expiresAt: new Date(expiresAt).toISOString() });
  });

  // The stream authenticates itself: with X-Auth-Token like every route, or with `?token=` (a stream token).
  const beforeAuth = Router();
  const streamAuth: RequestHandler = (req, res, next) => {
    if (req.headers['x-auth-token'] !== undefined || typeof req.query.token !== 'string') {
      ev.authenticate(req, res, next);
      return;
    }
    const grant = verifyStreamToken(ev.streamTokenSecret, req.query.token, now());
    if (!grant) throw new UnauthenticatedError();
    if (grant.accountId !== param(req, 'accountId')) throw new ForbiddenError('This stream token is for another account.');
    ev.keyActive(grant.keyId).then(
      (active) => {
        if (!active) {
          next(new UnauthenticatedError());
          return;
        }
        res.locals.principal = grant.operator ? { kind: 'operator', keyId: grant.keyId } : { kind: 'account', keyId: grant.keyId, accountId: grant.accountId };
        next();
      },
      (err: unknown) => next(err),
    );
  };

  beforeAuth.get('/accounts/:accountId/events/stream', streamAuth, async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    const q = parseOr422(EventStreamQuery, req.query);
    const lastEventId = req.headers['last-event-id'] ?? q.lastEventId;
    let after: Position | null = null;
    if (typeof lastEventId === 'string' && lastEventId !== '') {
      after = parsePosition(lastEventId.trim());
      if (!after) throw new BadRequestError('Last-Event-ID is not an event id this stream sent.');
    }
    const refusal = ev.hub.refusal(accountId);
    if (refusal) throw new ServiceUnavailableError(`Event streaming (${refusal})`, STREAM_BUSY_RETRY_AFTER_S);
    const p = principalOf(res);
    await ev.hub.open(res, { accountId, keyId: p.keyId, types: q.type ?? null, deviceId: q.deviceId ?? null, viewer: p.kind, after });
  });

  return { beforeAuth, afterAuth };
}
