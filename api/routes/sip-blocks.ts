import { Router } from 'express';
import { isIP } from 'node:net';
import { AppDeps, param, requireOperator } from '../context';
import { NotFoundError } from '../errors';
import { actorOf } from '../events/audit';

/** Operator view of SIP brute-force blocks (held in Redis by shared/sip-blocks.ts). */
export function sipBlocksRouter(deps: AppDeps): Router {
  const r = Router();

  r.get('/sip-blocks', async (_req, res) => {
    requireOperator(res);
    res.json({ data: await deps.sipBlocks.list() });
  });

  r.delete('/sip-blocks/:address', async (req, res) => {
    requireOperator(res);
    const address = param(req, 'address');
    if (!isIP(address) || !(await deps.sipBlocks.unblock(address))) {
      throw new NotFoundError('sip-block-not-found', 'That address is not blocked.');
    }
    await deps.audit.writeAfter(actorOf(req, res), [{ type: 'sip_block.removed', accountId: null, data: { address } }]);
    deps.log.info({ address }, 'sip block lifted');
    res.status(204).end();
  });

  return r;
}
