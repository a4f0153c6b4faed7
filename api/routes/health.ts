import { withTimeout } from '../../shared/with-timeout';
import { Router } from 'express';
import type { AppDeps } from '../context';

/** How long /readyz waits for each backing service. */
const READY_CHECK_TIMEOUT_MS = 1000;

/** Liveness (the process answers) and readiness (PostgreSQL and Redis answer). No authentication. */
export function healthRouter(deps: AppDeps): Router {
  const r = Router();
  r.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [pg, redis] = await Promise.allSettled([
      withTimeout(deps.pool.query('SELECT 1'), READY_CHECK_TIMEOUT_MS),
      withTimeout(deps.redis.ping(), READY_CHECK_TIMEOUT_MS),
    ]);
    const checks = { postgres: pg.status === 'fulfilled' ? 'ok' : 'failed', redis: redis.status === 'fulfilled' ? 'ok' : 'failed' } as const;
    const ok = checks.postgres === 'ok' && checks.redis === 'ok';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  });
  return r;
}
