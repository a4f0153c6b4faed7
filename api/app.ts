import { parse as parseQueryString, type ParsedUrlQuery } from 'node:querystring';
import express, { Express, NextFunction, Request, Response } from 'express';
import { ApiKeyVerifier, Principal } from './api-keys';
import { AuthFailureLimiter, ConcurrencyLimiter, QueueFullError } from './auth-failure-limiter';
import type { AppDeps } from './context';
import { DevicesRepo } from './devices-repo';
import { BadRequestError, NotFoundError, ServiceUnavailableError, TooManyRequestsError, UnauthenticatedError, UnsupportedMediaTypeError } from './errors';
import { eventsRouter } from './events/events-router';
import { openApiDocument } from './openapi';
import { problemHandler } from './problem';
import { accountsRouter } from './routes/accounts';
import { devicesRouter } from './routes/devices';
import { healthRouter } from './routes/health';
import { provisioningRouter } from './provisioning/provisioning-router';
import { consoleDir, consoleRouter } from './console-route';
import { sipBlocksRouter } from './routes/sip-blocks';
import { webhooksRouter } from './webhooks/webhooks-router';

/** The versions the API answers under; /v1 is an alias of /v2 (the seed documented both). */
export const API_PREFIXES = ['/v2', '/v1'];

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/** True when the request carries a body (RFC 9112 §6.3: Content-Length > 0 or Transfer-Encoding). */
function hasBody(req: Request): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

/**
 * The query string as the 'simple' parser reads it (node:querystring), refused
 * with 400 when its percent-encoding is malformed or encodes invalid UTF-8,
 * which querystring would otherwise decode to U+FFFD (or leave as is) silently.
 */
function parseQuery(qs: string | null | undefined): ParsedUrlQuery {
  if (!qs) return {};
  try {
    if (qs.includes('%')) decodeURIComponent(qs); // a '+' or plain text cannot fail it
  } catch {
    throw new BadRequestError('The query string is not valid percent-encoded UTF-8.');
  }
  return parseQueryString(qs);
}

/** Seconds a client is asked to wait when every key verification slot and the queue are taken. */
const VERIFY_BUSY_RETRY_AFTER_S = 1;

/**
 * Builds the Express app from its dependencies. Pure wiring: no listening, no
 * timers, nothing global, so tests create one per file against their own schema
 * and Redis prefix.
 */
export function createApp(deps: AppDeps): Express {
  const { config, log } = deps;
  const verifier = deps.verifier ?? new ApiKeyVerifier(deps.pool, {
    cacheTtlMs: config.API_KEY_CACHE_TTL_MS,
    cacheMax: config.API_KEY_CACHE_MAX,
    adminKey: config.ADMIN_API_KEY,
    now: deps.now,
  });
  const repo = new DevicesRepo(deps.pool, deps.cipher);
  const failures = new AuthFailureLimiter({ limit: config.API_AUTH_FAILURE_LIMIT, windowMs: config.API_AUTH_FAILURE_WINDOW_S * 1000, now: deps.now });
  const verifySlots = new ConcurrencyLimiter(config.API_ARGON2_MAX_CONCURRENCY, config.API_ARGON2_MAX_QUEUE);
  const openapi = JSON.stringify(openApiDocument());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', parseQuery);
  // req.ip: the socket address unless API_TRUST_PROXY names the proxies whose X-Forwarded-For to believe.
  app.set('trust proxy', config.API_TRUST_PROXY ?? false);

  app.use(deps.metrics.middleware());
  // Access log: one line per request, without query string or headers (no secrets in either path).
  app.use((req, res, next) => {
    if (!log.isLevelEnabled('info')) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const principal = res.locals.principal as { keyId?: string } | undefined;
      log.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Math.round(ms * 10) / 10, keyId: principal?.keyId }, 'request');
    });
    next();
  });

  app.use(healthRouter(deps));
  // The admin console: static files on this origin, before (and outside) the API's key check.
  app.use((req, res, next) => {
    if (req.path === '/console') res.redirect(301, `/console/${req.originalUrl.slice('/console'.length)}`);
    else next();
  });
  app.use('/console', consoleRouter(consoleDir(deps.consoleDir)));
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/openapi.json`, (_req, res) => {
      res.type('application/json').send(openapi);
    });
  }

  /**
   * X-Auth-Token to principal. A key this process already verified is served
   * from the cache whatever its address. Anything else needs a database lookup
   * and argon2id: an address with API_AUTH_FAILURE_LIMIT failed verifications in
   * its window gets 429 without either, and at most API_ARGON2_MAX_CONCURRENCY
   * verifications run at once (a bounded queue behind them, then 503).
   */
  const authenticate = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers['x-auth-token'];
    const token = typeof header === 'string' && header.length > 0 && header.length <= 512 ? header : undefined;
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    let principal: Principal | null;
    const known = token !== undefined ? verifier.verifyCached(token) : undefined;
    if (known) {
      principal = await known;
    } else {
      const refuseIfOverLimit = (): void => {
        const wait = failures.retryAfterS(address);
        if (wait > 0) throw new TooManyRequestsError(wait);
      };
      refuseIfOverLimit();
      if (token === undefined) throw new UnauthenticatedError();
      try {
        principal = await verifySlots.run(async () => {
          refuseIfOverLimit(); // failures may have crossed the limit while this request waited
          return verifier.verify(token);
        });
      } catch (err) {
        if (err instanceof QueueFullError) throw new ServiceUnavailableError('API key verification', VERIFY_BUSY_RETRY_AFTER_S);
        throw err;
      }
    }
    if (!principal) {
      // A token was presented: without one the request was refused above.
      const count = failures.recordFailure(address);
      if (failures.reachesLimit(count)) {
        log.warn({ address, failures: count, windowS: config.API_AUTH_FAILURE_WINDOW_S }, 'API key failures over the limit: address throttled until its window ends');
      }
      throw new UnauthenticatedError();
    }
    res.locals.principal = principal;
    next();
  };

  const jsonParser = express.json({ limit: config.API_BODY_LIMIT_BYTES, strict: true, type: () => true });
  const body = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === 'GET' || req.method === 'HEAD' || !hasBody(req)) {
      next();
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!JSON_TYPE.test(type)) throw new UnsupportedMediaTypeError();
    jsonParser(req, res, next);
  };

  const events = eventsRouter(deps, repo, {
    hub: deps.hub,
    streamTokenSecret: deps.streamTokenSecret,
    streamTokenTtlMs: config.API_STREAM_TOKEN_TTL_S * 1000,
    keyActive: (keyId) => verifier.isActive(keyId),
    authenticate: (req, res, next) => {
      authenticate(req, res, next).catch(next);
    },
  });
  const api = express.Router();
  api.use(events.beforeAuth); // the event stream authenticates itself (X-Auth-Token or a stream token)
  api.use(authenticate, body);
  api.use(devicesRouter(deps, repo));
  api.use(accountsRouter(deps, verifier));
  api.use(sipBlocksRouter(deps));
  api.use(provisioningRouter(deps));
  api.use(events.afterAuth);
  api.use(
    webhooksRouter(deps, {
      audit: deps.audit,
      cipher: deps.cipher,
      allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      maxPerAccount: config.WEBHOOK_MAX_PER_ACCOUNT,
      rotationGraceMs: config.WEBHOOK_SECRET_ROTATION_GRACE_S * 1000,
    }),
  );
  for (const prefix of API_PREFIXES) app.use(prefix, api);

  app.use((req) => {
    throw new NotFoundError('route-not-found', `No route for ${req.method} ${req.path}.`);
  });
  app.use(problemHandler(log, config.API_BODY_LIMIT_BYTES));
  return app;
}
