import { Request, Response, Router } from 'express';
import type { PoolClient } from 'pg';
import { deviceFiles, renderVendorFile } from '../../shared/provisioning/files';
import {
  AccountProvisioning,
  ensureAccountProvisioning,
  getAccountProvisioning,
  getDeviceProvisioning,
  patchDeviceSettings,
  ProvisioningRecord,
  recordByDevice,
  recordPassword,
  removeDeviceToken,
  rotateAccountPassword,
  rotateDeviceToken,
  saveAccountSettings,
} from '../../shared/provisioning/provisioning-store';
import {
  AccountProvisioningPatch,
  accountSettings,
  applyPatch,
  DEFAULT_SETTINGS,
  DeviceProvisioningPatch,
  deviceOverrides,
  effectiveSettings,
  settingsProblem,
} from '../../shared/provisioning/settings';
import { provisioningUrl, tokenUrl } from '../../shared/provisioning/urls';
import { accountNotFound } from '../accounts-repo';
import { accountScope, AppDeps, itemScope } from '../context';
import { deviceNotFound } from '../devices-repo';
import { NotFoundError, ValidationError } from '../errors';
import { actorOf } from '../events/audit';
import { DEVICE_ID } from '../ids';
import { parseOr422 } from '../validation';
import { z } from 'zod';

/** What a preview hides unless the caller asks for it (and the view is audited). */
const MASK = '********';

const PreviewQuery = z.strictObject({ includePassword: z.enum(['true', 'false']).optional() });

const { transport: _deviceOnly, ...ACCOUNT_DEFAULTS } = DEFAULT_SETTINGS;

/** The credentials route's `provisioning` member: where a phone is pointed and with what. */
export async function provisioningCredentials(deps: AppDeps, accountId: string, deviceId: string): Promise<Record<string, unknown> | null> {
  const account = await ensureAccountProvisioning(deps.pool, deps.cipher, accountId);
  if (!account) return null;
  const base = provisioningUrl(deps.config);
  const device = await getDeviceProvisioning(deps.pool, deps.cipher, deviceId);
  return { url: base, username: account.username, password: account.password, tokenUrl: device.token ? tokenUrl(base, device.token) : null };
}

/**
 * Provisioning settings of accounts and devices, the account's HTTP credentials, path
 * tokens and previews (docs/provisioning.md). Thin: the store is
 * shared/provisioning/provisioning-store.ts, the rules shared/provisioning/settings.ts.
 */
export function provisioningRouter(deps: AppDeps): Router {
  const r = Router();
  const { pool, cipher, audit, log } = deps;
  const base = (): string => provisioningUrl(deps.config);

  const accountJson = (a: AccountProvisioning): Record<string, unknown> => ({
    accountId: a.accountId,
    url: base(),
    username: a.username,
    settings: accountSettings(a.settings),
    defaults: ACCOUNT_DEFAULTS,
    updatedAt: a.updatedAt,
  });

  const deviceScope = async (req: Request, res: Response): Promise<ProvisioningRecord> => {
    const { accountId, id } = itemScope(req, res, 'deviceId', DEVICE_ID, deviceNotFound);
    const record = await recordByDevice(pool, accountId, id);
    if (!record) throw deviceNotFound();
    return record;
  };

  r.get('/accounts/:accountId/provisioning', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    const a = await ensureAccountProvisioning(pool, cipher, accountId);
    if (!a) throw accountNotFound();
    res.json(accountJson(a));
  });

  r.patch('/accounts/:accountId/provisioning', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    const patch = parseOr422(AccountProvisioningPatch, req.body ?? {});
    await ensureAccountProvisioning(pool, cipher, accountId);
    const updated = await audit.change(
      actorOf(req, res),
      async (db: PoolClient) => {
        const current = await getAccountProvisioning(db, cipher, accountId, true);
        if (!current) return null;
        const next = applyPatch(current.settings, patch);
        const problem = settingsProblem(effectiveSettings(next));
        if (problem) throw new ValidationError([{ field: problem.field, code: 'invalid-value', message: problem.message }]);
        await saveAccountSettings(db, accountId, next);
        return getAccountProvisioning(db, cipher, accountId);
      },
      () => [{ type: 'account.provisioning_updated', accountId, data: { fields: Object.keys(patch) } }],
    );
    if (!updated) throw accountNotFound();
    log.info({ accountId, fields: Object.keys(patch) }, 'account provisioning updated');
    res.json(accountJson(updated));
  });

  r.post('/accounts/:accountId/provisioning/rotate-password', async (req, res) => {
    const accountId = await accountScope(pool, req, res);
    await ensureAccountProvisioning(pool, cipher, accountId);
    const password = await audit.change(
      actorOf(req, res),
      (db) => rotateAccountPassword(db, cipher, accountId),
      () => [{ type: 'account.provisioning_password_rotated', accountId }],
    );
    if (password === null) throw accountNotFound();
    const a = (await getAccountProvisioning(pool, cipher, accountId))!;
    log.info({ accountId }, 'provisioning password rotated');
    res.set('Cache-Control', 'no-store').json({ url: base(), username: a.username, password });
  });

  r.get('/accounts/:accountId/devices/sip/:deviceId/provisioning', async (req, res) => {
    const record = await deviceScope(req, res);
    const q = parseOr422(PreviewQuery, req.query);
    const reveal = q.includePassword === 'true';
    const device = await getDeviceProvisioning(pool, cipher, record.deviceId);
    const found = deviceFiles(record);
    let file: Record<string, unknown> | null = null;
    let problem: string | null = null;
    if (!record.macAddress) problem = 'The device has no macAddress: phones fetch their file by MAC.';
    else if (!found) problem = `No provisioning template for manufacturer "${record.manufacturer ?? ''}": set it to Yealink, Polycom, Grandstream, Cisco (SPA/Linksys), Snom or Fanvil.`;
    if (found && record.macAddress) {
      if (reveal) {
        // The password leaves in this answer: recorded first, as the credentials route does.
        await audit.write(actorOf(req, res), [{ type: 'device.credentials_viewed', accountId: record.accountId, deviceId: record.deviceId, data: { file: found.files[0]!.name } }]);
      }
      const main = found.files[0]!;
      const rendered = renderVendorFile(found.vendor, main, record, reveal ? recordPassword(cipher, record) : MASK, deps.config);
      file = { name: rendered.name, url: `${base()}/${rendered.name}`, contentType: rendered.contentType, content: rendered.body, names: found.files.map((f) => f.name) };
    }
    if (reveal) res.set('Cache-Control', 'no-store');
    res.json({
      deviceId: record.deviceId,
      url: base(),
      tokenUrl: device.token ? tokenUrl(base(), device.token) : null,
      vendor: found?.vendor.id ?? null,
      file,
      problem,
      passwordIncluded: reveal && file !== null,
      settings: effectiveSettings(record.accountSettings, record.deviceSettings),
      overrides: deviceOverrides(device.settings),
      lastProvisioned: device.lastProvisionedAt,
    });
  });

  r.patch('/accounts/:accountId/devices/sip/:deviceId/provisioning', async (req, res) => {
    const record = await deviceScope(req, res);
    const patch = parseOr422(DeviceProvisioningPatch, req.body ?? {});
    const overrides = await audit.change(
      actorOf(req, res),
      async (db: PoolClient) => {
        const current = await getDeviceProvisioning(db, cipher, record.deviceId, true);
        const next = applyPatch(current.settings, patch);
        const problem = settingsProblem(effectiveSettings(record.accountSettings, next));
        if (problem) throw new ValidationError([{ field: problem.field, code: 'invalid-value', message: problem.message }]);
        return patchDeviceSettings(db, record.deviceId, current.settings, patch);
      },
      () => [{ type: 'device.provisioning_updated', accountId: record.accountId, deviceId: record.deviceId, data: { fields: Object.keys(patch) } }],
    );
    log.info({ accountId: record.accountId, deviceId: record.deviceId, fields: Object.keys(patch) }, 'device provisioning updated');
    res.json({ deviceId: record.deviceId, overrides: deviceOverrides(overrides), settings: effectiveSettings(record.accountSettings, overrides) });
  });

  r.post('/accounts/:accountId/devices/sip/:deviceId/provisioning/token', async (req, res) => {
    const record = await deviceScope(req, res);
    const token = (await audit.change(
      actorOf(req, res),
      (db) => rotateDeviceToken(db, cipher, record.deviceId),
      () => [{ type: 'device.provisioning_token_created', accountId: record.accountId, deviceId: record.deviceId }],
    ))!;
    log.info({ accountId: record.accountId, deviceId: record.deviceId }, 'provisioning token created');
    res.status(201).set('Cache-Control', 'no-store').json({ tokenUrl: tokenUrl(base(), token) });
  });

  r.delete('/accounts/:accountId/devices/sip/:deviceId/provisioning/token', async (req, res) => {
    const record = await deviceScope(req, res);
    const removed = await audit.change(
      actorOf(req, res),
      async (db) => ((await removeDeviceToken(db, record.deviceId)) ? true : null),
      () => [{ type: 'device.provisioning_token_removed', accountId: record.accountId, deviceId: record.deviceId }],
    );
    if (!removed) throw new NotFoundError('provisioning-token-not-found', 'This device has no provisioning token.');
    res.status(204).end();
  });

  return r;
}
