import { Router } from 'express';
import { ApiKeyRecord, ApiKeyVerifier, createApiKey, listApiKeys, revokeApiKey } from '../api-keys';
import { AccountRecord, accountExists, accountNotFound, createAccountWithKey, getAccount, listAccounts, requireAccount, updateAccount } from '../accounts-repo';
import { AppDeps, param, requireAccountAccess, requireOperator, principalOf } from '../context';
import { NotFoundError, ValidationError } from '../errors';
import { actorOf } from '../events/audit';
import { ACCOUNT_ID, API_KEY_ID } from '../ids';
import { AccountCreateBody, AccountPatchBody, ApiKeyCreateBody, DEFAULT_PAGE_LIMIT, PageLimit } from '../schemas';
import { parseOr422 } from '../validation';
import { z } from 'zod';

/** The account representation. */
export function accountJson(a: AccountRecord): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    sipDomain: a.sipDomain,
    sipServer: a.sipServer,
    sipPort: a.sipPort,
    outboundProxy: a.outboundProxy,
    transportProtocol: a.transportProtocol,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

/** The API key representation (never the secret or its hash). */
export function apiKeyJson(k: ApiKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    accountId: k.accountId,
    name: k.name,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  };
}

const AccountListQuery = z.strictObject({
  limit: PageLimit.optional(),
  cursor: z.string().regex(ACCOUNT_ID, 'not a cursor returned by this endpoint').optional(),
});

/** Accounts (operators create and list; an account key reads its own) and their API keys. */
export function accountsRouter(deps: AppDeps, verifier: ApiKeyVerifier): Router {
  const r = Router();
  const { pool, log, audit } = deps;


  r.post('/accounts', async (req, res) => {
    requireOperator(res);
    const body = parseOr422(AccountCreateBody, req.body ?? {});
    const fields = {
      name: body.name,
      sipDomain: body.sipDomain ?? deps.config.SIP_DEFAULT_DOMAIN, // both lower-cased by their schemas
      keyName: body.apiKeyName ?? 'default',
      sipServer: body.sipServer,
      sipPort: body.sipPort,
      outboundProxy: body.outboundProxy,
      transportProtocol: body.transportProtocol,
    };
    const created = (await audit.change(
      actorOf(req, res),
      (db) => createAccountWithKey(pool, fields, db),
      (c) => [
        { type: 'account.created', accountId: c.account.id },
        { type: 'api_key.created', accountId: c.account.id, data: { apiKeyId: c.apiKey.id, name: c.apiKey.name } },
      ],
    ))!;
    log.info({ accountId: created.account.id, keyId: created.apiKey.id }, 'account created');
    res.status(201).location(`${req.baseUrl}/accounts/${created.account.id}`).set('Cache-Control', 'no-store')
      .json({ account: accountJson(created.account), apiKey: { ...apiKeyJson(created.apiKey), key: created.key } });
  });

  // What the presented key is (the console's sign-in): operator, or the account it belongs to.
  r.get('/whoami', (_req, res) => {
    const p = principalOf(res);
    res.json({ kind: p.kind, keyId: p.keyId, accountId: p.kind === 'account' ? p.accountId : null });
  });

  r.get('/accounts', async (req, res) => {
    requireOperator(res);
    const q = parseOr422(AccountListQuery, req.query);
    const page = await listAccounts(pool, q.cursor ?? null, q.limit ?? DEFAULT_PAGE_LIMIT);
    // A cursor naming no account selects nothing: tell it from a real last page (one more lookup, on empty pages only).
    if (q.cursor !== undefined && page.rows.length === 0 && !(await accountExists(pool, q.cursor))) {
      throw new ValidationError([{ field: 'cursor', code: 'invalid-value', message: 'not a cursor returned by this endpoint' }]);
    }
    const last = page.rows[page.rows.length - 1];
    res.json({ data: page.rows.map(accountJson), has_more: page.hasMore, next_cursor: page.hasMore && last ? last.id : null });
  });

  r.get('/accounts/:accountId', async (req, res) => {
    const accountId = param(req, 'accountId');
    requireAccountAccess(res, accountId);
    const account = ACCOUNT_ID.test(accountId) ? await getAccount(pool, accountId) : null;
    if (!account) throw accountNotFound();
    res.json(accountJson(account));
  });

  r.patch('/accounts/:accountId', async (req, res) => {
    requireOperator(res);
    const accountId = param(req, 'accountId');
    const body = parseOr422(AccountPatchBody, req.body ?? {});
    const account = ACCOUNT_ID.test(accountId)
      ? await audit.change(
          actorOf(req, res),
          (db) => updateAccount(db, accountId, body),
          () => [{ type: 'account.updated', accountId, data: { fields: Object.keys(body) } }],
        )
      : null;
    if (!account) throw accountNotFound();
    log.info({ accountId, fields: Object.keys(body) }, 'account updated');
    res.json(accountJson(account));
  });

  r.post('/accounts/:accountId/api-keys', async (req, res) => {
    const accountId = param(req, 'accountId');
    requireAccountAccess(res, accountId);
    const body = parseOr422(ApiKeyCreateBody, req.body ?? {});
    await requireAccount(pool, accountId);
    const { record, key } = (await audit.change(
      actorOf(req, res),
      (db) => createApiKey(db, accountId, body.name ?? 'api key'),
      (k) => [{ type: 'api_key.created', accountId, data: { apiKeyId: k.record.id, name: k.record.name } }],
    ))!;
    log.info({ accountId, keyId: record.id }, 'api key created');
    res.status(201).set('Cache-Control', 'no-store').json({ ...apiKeyJson(record), key });
  });

  r.get('/accounts/:accountId/api-keys', async (req, res) => {
    const accountId = param(req, 'accountId');
    requireAccountAccess(res, accountId);
    await requireAccount(pool, accountId);
    res.json({ data: (await listApiKeys(pool, accountId)).map(apiKeyJson) });
  });

  r.delete('/accounts/:accountId/api-keys/:keyId', async (req, res) => {
    const accountId = param(req, 'accountId');
    const keyId = param(req, 'keyId');
    requireAccountAccess(res, accountId);
    if (!API_KEY_ID.test(keyId)) throw new NotFoundError('api-key-not-found', 'No such API key in this account.');
    const revoked = await audit.change(
      actorOf(req, res),
      (db) => revokeApiKey(db, accountId, keyId),
      () => [{ type: 'api_key.revoked', accountId, data: { apiKeyId: keyId } }],
    );
    if (!revoked) throw new NotFoundError('api-key-not-found', 'No such API key in this account.');
    verifier.forgetKey(keyId);
    log.info({ accountId, keyId }, 'api key revoked');
    res.status(204).end();
  });

  return r;
}

