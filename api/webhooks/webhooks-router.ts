import { Request, Response, Router } from 'express';
import type { CredentialCipher } from '../../shared/credentials';
import { accountScope, AppDeps, itemScope } from '../context';
import { decodeKeysetCursor, encodeKeysetCursor } from '../cursors';
import { NotFoundError, ValidationError } from '../errors';
import { actorOf, AuditLog } from '../events/audit';
import { DELIVERY_ID, newWebhookId, WEBHOOK_ID } from '../ids';
import { DEFAULT_PAGE_LIMIT, DeliveryListQuery, WebhookCreateBody, WebhookPatchBody } from '../schemas';
import { parseOr422 } from '../validation';
import { newWebhookSecret } from './signature';
import { checkWebhookTarget, parseWebhookUrl, WebhookTargetError } from './target-guard';
import {
  deleteWebhook,
  DeliveryRow,
  getWebhook,
  insertWebhookWithinLimit,
  listDeliveries,
  listWebhooks,
  rotateWebhookSecret,
  secretContext,
  updateWebhook,
  WebhookPatch,
  WebhookRow,
} from './webhooks-repo';

export interface WebhookRoutesDeps {
  audit: AuditLog;
  cipher: CredentialCipher;
  allowPrivateTargets: boolean;
  maxPerAccount: number;
  /** How long the previous secret keeps signing after a rotation, ms. */
  rotationGraceMs: number;
}

export function webhookJson(w: WebhookRow): Record<string, unknown> {
  return {
    id: w.id,
    accountId: w.account_id,
    url: w.url,
    description: w.description,
    events: w.event_types,
    enabled: w.enabled,
    disabledReason: w.disabled_reason,
    failingSince: w.failing_since?.toISOString() ?? null,
    createdAt: w.created_at.toISOString(),
    updatedAt: w.updated_at.toISOString(),
  };
}

function deliveryJson(d: DeliveryRow): Record<string, unknown> {
  return {
    id: d.id,
    webhookId: d.webhook_id,
    eventId: d.event_id,
    eventType: d.event_type,
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.last_status,
    lastError: d.last_error,
    lastAttemptAt: d.last_attempt_at?.toISOString() ?? null,
    nextAttemptAt: d.state === 'pending' ? d.next_attempt_at.toISOString() : null,
    createdAt: d.created_at.toISOString(),
    finishedAt: d.finished_at?.toISOString() ?? null,
  };
}

/** Webhooks of an account: CRUD, secret rotation, and the deliveries of each. */
export function webhooksRouter(deps: AppDeps, wh: WebhookRoutesDeps): Router {
  const r = Router();
  const { pool } = deps;
  const now = deps.now ?? Date.now;

  /** A URL the API may deliver to (422 `url` otherwise), checked on its resolved addresses. */
  const checkedUrl = async (raw: string): Promise<string> => {
    try {
      const url = parseWebhookUrl(raw);
      await checkWebhookTarget(url, { allowPrivate: wh.allowPrivateTargets });
      return url.toString();
    } catch (err) {
      if (err instanceof WebhookTargetError) throw new ValidationError([{ field: 'url', code: err.code, message: err.message }]);
      throw err;
    }
  };

  const notFound = (): NotFoundError => new NotFoundError('webhook-not-found', 'No such webhook in this account.');

  /** Item routes: another tenant's webhook ids are not confirmed (404). */
  const webhookScope = (req: Request, res: Response): { accountId: string; webhookId: string } => {
    const { accountId, id } = itemScope(req, res, 'webhookId', WEBHOOK_ID, notFound);
    return { accountId, webhookId: id };
  };

  r.post('/accounts/:accountId/webhooks', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    const body = parseOr422(WebhookCreateBody, req.body ?? {});
    const url = await checkedUrl(body.url);
    const id = newWebhookId();
    const secret = newWebhookSecret();
    const row = await wh.audit.change(
      actorOf(req, res),
      (db) => insertWebhookWithinLimit(db, { id, accountId, url, description: body.description ?? null, eventTypes: body.events, secretEnc: wh.cipher.encrypt(secret, secretContext(id)) }, wh.maxPerAccount),
      (w) => [{ type: 'webhook.created', accountId, data: { webhookId: w.id } }],
    );
    if (!row) throw new ValidationError([{ field: '(body)', code: 'limit-reached', message: `an account may have at most ${wh.maxPerAccount} webhooks (WEBHOOK_MAX_PER_ACCOUNT)` }]);
    res.status(201).location(`${req.baseUrl}/accounts/${accountId}/webhooks/${id}`).set('Cache-Control', 'no-store').json({ ...webhookJson(row!), secret });
  });

  r.get('/accounts/:accountId/webhooks', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    res.json({ data: (await listWebhooks(pool, accountId)).map(webhookJson) });
  });

  r.get('/accounts/:accountId/webhooks/:webhookId', async (req, res) => {
    const { accountId, webhookId } = webhookScope(req, res);
    const w = await getWebhook(pool, accountId, webhookId);
    if (!w) throw notFound();
    res.json(webhookJson(w));
  });

  r.patch('/accounts/:accountId/webhooks/:webhookId', async (req, res) => {
    const { accountId, webhookId } = webhookScope(req, res);
    const body = parseOr422(WebhookPatchBody, req.body ?? {});
    const patch: WebhookPatch = { description: body.description, eventTypes: body.events, enabled: body.enabled };
    if (body.url !== undefined) patch.url = await checkedUrl(body.url);
    const w = await wh.audit.change(
      actorOf(req, res),
      (db) => updateWebhook(db, accountId, webhookId, patch),
      () => [{ type: 'webhook.updated', accountId, data: { webhookId, fields: Object.keys(body) } }],
    );
    if (!w) throw notFound();
    res.json(webhookJson(w));
  });

  r.delete('/accounts/:accountId/webhooks/:webhookId', async (req, res) => {
    const { accountId, webhookId } = webhookScope(req, res);
    const gone = await wh.audit.change(
      actorOf(req, res),
      async (db) => ((await deleteWebhook(db, accountId, webhookId)) ? true : null),
      () => [{ type: 'webhook.deleted', accountId, data: { webhookId } }],
    );
    if (!gone) throw notFound();
    res.status(204).end();
  });

  r.post('/accounts/:accountId/webhooks/:webhookId/rotate-secret', async (req, res) => {
    const { accountId, webhookId } = webhookScope(req, res);
    const secret = newWebhookSecret();
    const w = await wh.audit.change(
      actorOf(req, res),
      (db) => rotateWebhookSecret(db, accountId, webhookId, wh.cipher.encrypt(secret, secretContext(webhookId)), new Date(now() + wh.rotationGraceMs)),
      () => [{ type: 'webhook.secret_rotated', accountId, data: { webhookId } }],
    );
    if (!w) throw notFound();
    res.set('Cache-Control', 'no-store').json({ ...webhookJson(w), secret });
  });

  r.get('/accounts/:accountId/webhooks/:webhookId/deliveries', async (req, res) => {
    const { accountId, webhookId } = webhookScope(req, res);
    const q = parseOr422(DeliveryListQuery, req.query);
    if (!(await getWebhook(pool, accountId, webhookId))) throw notFound();
    const page = await listDeliveries(pool, webhookId, { state: q.state }, q.cursor !== undefined ? decodeKeysetCursor(q.cursor, DELIVERY_ID) : null, q.limit ?? DEFAULT_PAGE_LIMIT);
    const last = page.rows[page.rows.length - 1];
    res.json({
      data: page.rows.map(deliveryJson),
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeKeysetCursor({ createdAt: last.cursor_ts, id: last.id }) : null,
    });
  });

  return r;
}
