import { Request, Response, Router } from 'express';
import type { Binding, DeviceLiveStatus } from '../../shared/registration-store';
import { sipConnection } from '../../shared/sip-connection';
import { accountNotFound } from '../accounts-repo';
import { accountScope, AppDeps, itemScope } from '../context';
import { decodeKeysetCursor, encodeKeysetCursor } from '../cursors';
import { deviceNotFound, DeviceRow, DevicesRepo } from '../devices-repo';
import { Actor, actorOf, AuditEntry } from '../events/audit';
import { DEVICE_ID } from '../ids';
import { provisioningCredentials } from '../provisioning/provisioning-router';
import { announceAuthChange, liveStatus, liveStatusAfterWrite, liveStatuses, PENDING } from '../live';
import { DEFAULT_PAGE_LIMIT, DeviceCreateBody, DeviceListQuery, DevicePatchBody, ResetPasswordBody } from '../schemas';
import { parseOr422 } from '../validation';


/** The seed's device representation. */
export function deviceJson(row: DeviceRow, live: DeviceLiveStatus): Record<string, unknown> {
  return {
    id: row.id,
    accountId: row.account_id,
    type: 'sip',
    name: row.name,
    model: row.model,
    manufacturer: row.manufacturer,
    macAddress: row.mac_address,
    sipUsername: row.sip_username,
    sipDomain: row.sip_domain,
    displayName: row.display_name,
    assignedUser: row.assigned_user,
    status: row.status,
    registrationStatus: live.registrationStatus,
    lastRegistration: live.lastRegistration,
    ipAddress: live.ipAddress,
    lastFailure: live.lastFailure,
    lastProvisioned: row.last_provisioned,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `removed` events of bindings the API removed (kick, deactivation, reset), for the device's history. */
function removedEntries(accountId: string, deviceId: string, bindings: readonly Binding[], reason: string): AuditEntry[] {
  return bindings.map((b) => ({
    type: 'removed',
    accountId,
    deviceId,
    data: { reason, contact: b.uri, sourceIp: b.sourceAddress, sourcePort: b.sourcePort, transport: b.transport, userAgent: b.userAgent },
  }));
}

/** The seed's six device endpoints plus listing and live registrations. */
export function devicesRouter(deps: AppDeps, repo: DevicesRepo): Router {
  const r = Router();
  const { registrations, log, audit } = deps;
  const now = deps.now ?? Date.now;

  /** Writes the `removed` events of bindings a change removed (after the fact: the bindings are gone). */
  const recordRemoved = async (actor: Actor, accountId: string, deviceId: string, bindings: Binding[], reason: string): Promise<void> => {
    if (bindings.length) await audit.writeAfter(actor, removedEntries(accountId, deviceId, bindings, reason));
  };

  /** The account of a device route, or 404 (other tenants' ids are not confirmed). */
  const deviceScope = (req: Request, res: Response): { accountId: string; deviceId: string } => {
    const { accountId, id } = itemScope(req, res, 'deviceId', DEVICE_ID, deviceNotFound);
    return { accountId, deviceId: id };
  };

  const notFound = deviceNotFound;

  r.post('/accounts/:accountId/devices/sip', async (req, res) => {
    const accountId = await accountScope(deps.pool, req, res);
    const body = parseOr422(DeviceCreateBody, req.body ?? {});
    const fields = {
      name: body.name,
      model: body.model ?? null,
      manufacturer: body.manufacturer ?? null,
      macAddress: body.macAddress ?? null,
      sipUsername: body.sipUsername,
      displayName: body.displayName ?? null,
      assignedUser: body.assignedUser ?? null,
    };
    const created = await audit.change(
      actorOf(req, res),
      (db) => repo.create(accountId, fields, db),
      (c) => [{ type: 'device.created', accountId, deviceId: c.row.id, data: { fields: Object.keys(body) } }],
    );
    if (!created) throw accountNotFound();
    // Registrars may have cached this identity as unknown (or as a deleted device's tombstone): drop that now.
    await announceAuthChange(registrations, log, {
      invalidation: { deviceId: created.row.id, sipUsername: created.row.sip_username, sipDomain: created.row.sip_domain },
    });
    log.info({ accountId, deviceId: created.row.id }, 'device created');
    // The answer carries the password: like every answer with a secret, not to be stored by any cache.
    res.status(201).location(`${req.baseUrl}/accounts/${accountId}/devices/sip/${created.row.id}`).set('Cache-Control', 'no-store')
      .json({ ...deviceJson(created.row, PENDING), credentials: { sipPassword: created.password } });
  });

  r.get('/accounts/:accountId/devices/sip', async (req, res) => {
    const accountId = await accountScope(deps.pool, req, res);
    const q = parseOr422(DeviceListQuery, req.query);
    const page = await repo.list(
      accountId,
      { status: q.status, assignedUser: q.assignedUser, macAddress: q.macAddress, sipUsername: q.sipUsername, name: q.name },
      q.cursor !== undefined ? decodeKeysetCursor(q.cursor, DEVICE_ID) : null,
      q.limit ?? DEFAULT_PAGE_LIMIT,
    );
    const live = await liveStatuses(registrations, page.rows.map((d) => d.id));
    res.json({
      data: page.rows.map((d) => deviceJson(d, live.get(d.id) ?? PENDING)),
      has_more: page.hasMore,
      next_cursor: page.hasMore && page.last ? encodeKeysetCursor(page.last) : null,
    });
  });

  r.get('/accounts/:accountId/devices/sip/:deviceId', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    // The two reads are independent: run them concurrently (one PG query by primary key, one Redis round trip).
    const [row, live] = await Promise.all([repo.get(accountId, deviceId), liveStatus(registrations, deviceId).catch((err: unknown) => err)]);
    if (!row) throw notFound();
    if (live instanceof Error) throw live;
    res.json(deviceJson(row, live as DeviceLiveStatus));
  });

  r.patch('/accounts/:accountId/devices/sip/:deviceId', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    const body = parseOr422(DevicePatchBody, req.body ?? {});
    const actor = actorOf(req, res);
    const row = await audit.change(
      actor,
      (db) => repo.update(accountId, deviceId, body, db),
      () => [{ type: 'device.updated', accountId, deviceId, data: { fields: Object.keys(body) } }],
    );
    if (!row) throw notFound();
    if (body.status !== undefined) {
      // Of what a PATCH can change, registrars cache only the status (credentials have their own route).
      const removed = await announceAuthChange(registrations, log, {
        invalidation: { deviceId, sipUsername: row.sip_username, sipDomain: row.sip_domain },
        removeBindings: body.status === 'inactive',
      });
      await recordRemoved(actor, accountId, deviceId, removed, 'device_deactivated');
    }
    log.info({ accountId, deviceId, fields: Object.keys(body) }, 'device updated');
    // The update is committed: without Redis it is still answered as such, the registration shown as pending (as after a create).
    res.json(deviceJson(row, await liveStatusAfterWrite(registrations, log, deviceId)));
  });

  r.delete('/accounts/:accountId/devices/sip/:deviceId', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    const gone = await audit.change(
      actorOf(req, res),
      (db) => repo.delete(accountId, deviceId, db),
      () => [{ type: 'device.deleted', accountId, deviceId }],
    );
    if (!gone) throw notFound();
    await announceAuthChange(registrations, log, { invalidation: { deviceId, ...gone }, forget: true });
    log.info({ accountId, deviceId }, 'device deleted');
    res.status(204).end();
  });

  r.get('/accounts/:accountId/devices/sip/:deviceId/credentials', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    const c = await repo.credentials(accountId, deviceId);
    if (!c) throw notFound();
    // Recorded before the password leaves: no view goes unaudited (a failed write is a 503).
    await audit.write(actorOf(req, res), [{ type: 'device.credentials_viewed', accountId, deviceId }]);
    const sip = sipConnection(c, deps.config, c.sipDomain);
    const provisioning = await provisioningCredentials(deps, accountId, deviceId);
    res.set('Cache-Control', 'no-store').json({
      sipServer: sip.server,
      sipPort: sip.port,
      sipUsername: c.sipUsername,
      sipPassword: c.password,
      sipDomain: c.sipDomain,
      outboundProxy: sip.outboundProxy,
      transportProtocol: sip.transport,
      provisioning,
    });
  });

  r.post('/accounts/:accountId/devices/sip/:deviceId/reset-password', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    const body = parseOr422(ResetPasswordBody, req.body ?? {});
    const grace = body.gracePeriodSeconds ?? 0;
    const expiresAt = new Date(now() + grace * 1000);
    const actor = actorOf(req, res);
    const reset = await audit.change(
      actor,
      (db) => repo.resetPassword(accountId, deviceId, expiresAt, grace > 0, db),
      () => [{ type: 'device.password_reset', accountId, deviceId, data: { gracePeriodSeconds: grace } }],
    );
    if (!reset) throw notFound();
    const removed = await announceAuthChange(registrations, log, {
      invalidation: { deviceId, sipUsername: reset.sipUsername, sipDomain: reset.sipDomain },
      removeBindings: grace === 0,
    });
    await recordRemoved(actor, accountId, deviceId, removed, 'password_reset');
    log.info({ accountId, deviceId, gracePeriodSeconds: grace }, 'device password reset');
    res.set('Cache-Control', 'no-store').json({
      sipPassword: reset.password,
      message: grace > 0 ? `Password reset successfully; the previous password is accepted until expiresAt` : 'Password reset successfully',
      expiresAt: expiresAt.toISOString(),
    });
  });

  r.get('/accounts/:accountId/devices/sip/:deviceId/registrations', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    if (!(await repo.get(accountId, deviceId))) throw notFound();
    const bindings = await registrations.listBindings(deviceId);
    res.json({
      data: bindings.map((b) => ({
        id: b.id,
        contact: b.uri,
        expiresAt: new Date(b.expiresAt).toISOString(),
        registeredAt: new Date(b.registeredAt).toISOString(),
        sourceAddress: b.sourceAddress,
        sourcePort: b.sourcePort,
        transport: b.transport,
        userAgent: b.userAgent,
        callId: b.callId,
        cseq: b.cseq,
        instance: b.instance ?? null,
        regId: b.regId ?? null,
        path: b.path ?? [],
        q: b.q ?? null,
      })),
    });
  });

  r.delete('/accounts/:accountId/devices/sip/:deviceId/registrations', async (req, res) => {
    const { accountId, deviceId } = deviceScope(req, res);
    if (!(await repo.get(accountId, deviceId))) throw notFound();
    const removed = await registrations.removeBindings(deviceId);
    const actor = actorOf(req, res);
    await audit.writeAfter(actor, [
      { type: 'registrations.removed', accountId, deviceId, data: { removed: removed.length } },
      ...removedEntries(accountId, deviceId, removed, 'admin'),
    ]);
    log.info({ accountId, deviceId, removed: removed.length }, 'registrations removed');
    res.status(204).end();
  });

  return r;
}
