import express, { Express, NextFunction, Request, Response } from 'express';
import { ApiKeyVerifier } from './api-keys';
import type { AppDeps } from './context';
import { DevicesRepo } from './devices-repo';
import { NotFoundError, UnauthenticatedError, UnsupportedMediaTypeError } from './errors';
import { openApiDocument } from './openapi';
import { problemHandler } from './problem';
import { accountsRouter } from './routes/accounts';
import { devicesRouter } from './routes/devices';
import { healthRouter } from './routes/health';
import { sipBlocksRouter } from './routes/sip-blocks';

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
  const openapi = JSON.stringify(openApiDocument());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

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
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/openapi.json`, (_req, res) => {
      res.type('application/json').send(openapi);
    });
  }

  const authenticate = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) throw new UnauthenticatedError();
    const principal = await verifier.verify(token);
    if (!principal) throw new UnauthenticatedError();
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

  const api = express.Router();
  api.use(authenticate, body);
  api.use(devicesRouter(deps, repo));
  api.use(accountsRouter(deps, verifier));
  api.use(sipBlocksRouter(deps));
  for (const prefix of API_PREFIXES) app.use(prefix, api);

  app.use((req) => {
    throw new NotFoundError('route-not-found', `No route for ${req.method} ${req.path}.`);
  });
  app.use(problemHandler(log, config.API_BODY_LIMIT_BYTES));
  return app;
}
