import type { Request, Response } from 'express';
import type { Pool } from 'pg';
import type { CredentialCipher } from '../shared/credentials';
import type { Logger } from '../shared/logger';
import type { Redis } from '../shared/redis';
import type { RegistrationStore } from '../shared/registration-store';
import type { SipBlocks } from '../shared/sip-blocks';
import type { ApiKeyVerifier, Principal } from './api-keys';
import type { ApiConfig } from './config';
import type { AuditLog } from './events/audit';
import type { EventHub } from './events/event-hub';
import type { ApiMetrics } from './metrics';
import { requireAccount } from './accounts-repo';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from './errors';
import { ACCOUNT_ID } from './ids';

/** The settings createApp reads. */
export type AppConfig = Pick<
  ApiConfig,
  | 'SIP_DEFAULT_DOMAIN'
  | 'API_BODY_LIMIT_BYTES'
  | 'API_KEY_CACHE_TTL_MS'
  | 'API_KEY_CACHE_MAX'
  | 'ADMIN_API_KEY'
  | 'SIP_PUBLIC_HOST'
  | 'SIP_PUBLIC_PORT'
  | 'SIP_OUTBOUND_PROXY'
  | 'SIP_TRANSPORT'
  | 'API_AUTH_FAILURE_LIMIT'
  | 'API_AUTH_FAILURE_WINDOW_S'
  | 'API_ARGON2_MAX_CONCURRENCY'
  | 'API_ARGON2_MAX_QUEUE'
  | 'API_TRUST_PROXY'
  | 'API_STREAM_TOKEN_TTL_S'
  | 'WEBHOOK_ALLOW_PRIVATE_TARGETS'
  | 'WEBHOOK_MAX_PER_ACCOUNT'
  | 'WEBHOOK_SECRET_ROTATION_GRACE_S'
  | 'PROVISIONING_PUBLIC_URL'
  | 'PROVISIONING_PORT'
  | 'PROVISIONING_TLS_CERT'
  | 'PROVISIONING_TLS_KEY'
>;

/** Everything the app is wired from; tests pass real PostgreSQL and Redis objects. */
export interface AppDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly registrations: RegistrationStore;
  readonly sipBlocks: SipBlocks;
  readonly cipher: CredentialCipher;
  readonly config: AppConfig;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly hub: EventHub;
  readonly metrics: ApiMetrics;
  /** HMAC key of event-stream tokens (API_STREAM_TOKEN_SECRET or a local one). */
  readonly streamTokenSecret: string;
  /** Shared with the caller when given (e.g. to inspect the cache); otherwise built from config. */
  readonly verifier?: ApiKeyVerifier;
  /** Injected clock (ms since epoch). */
  readonly now?: () => number;
  /** Folder of the built console (api/console-route.ts); default dist/console-assets. */
  readonly consoleDir?: string | null;
}

/** The authenticated principal of a request (set by the auth middleware). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new UnauthenticatedError();
  return p;
}

/** Operators only. */
export function requireOperator(res: Response): void {
  if (principalOf(res).kind !== 'operator') throw new ForbiddenError('This operation needs an operator key.');
}

/**
 * Collection-level access to `accountId` (list, create, account, keys): another
 * tenant's key gets 403.
 */
export function requireAccountAccess(res: Response, accountId: string): void {
  const p = principalOf(res);
  if (p.kind === 'account' && p.accountId !== accountId) throw new ForbiddenError('This key may not access that account.');
}

/**
 * The account of a collection route (its events, webhooks, …): 403 for another
 * tenant's key, 404 for an account that does not exist (operators).
 */
export async function accountScope(pool: Pool, req: Request, res: Response): Promise<string> {
  const accountId = param(req, 'accountId');
  requireAccountAccess(res, accountId);
  if (!ACCOUNT_ID.test(accountId)) throw new NotFoundError('account-not-found', 'No such account.');
  if (principalOf(res).kind === 'operator') await requireAccount(pool, accountId);
  return accountId;
}

/**
 * The account and item ids of an item route (a device, a webhook) when this key may
 * see that account and both ids are well formed; else `notFound()` is thrown, so
 * other tenants' ids are never confirmed.
 */
export function itemScope(req: Request, res: Response, idParam: string, idPattern: RegExp, notFound: () => Error): { accountId: string; id: string } {
  const accountId = param(req, 'accountId');
  const id = param(req, idParam);
  if (!canSeeAccount(res, accountId) || !ACCOUNT_ID.test(accountId) || !idPattern.test(id)) throw notFound();
  return { accountId, id };
}

/** Item-level visibility: false means "answer 404", so ids of other tenants are not confirmed. */
export function canSeeAccount(res: Response, accountId: string): boolean {
  const p = principalOf(res);
  return p.kind === 'operator' || p.accountId === accountId;
}

/** A path parameter as a string (Express 5 types allow arrays for wildcards). */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join('/') : (v ?? '');
}
