/**
 * Process entry of the embedded engine (`npm run sip`, what `npm start` runs): the edge and one
 * registrar in one process, drachtio-srf talking to the edge over an in-memory stream pair
 * (socket-pair.ts) instead of a TCP connection. The registrar code is the same one that runs
 * behind drachtio-server or a separate edge; only its engine connection differs.
 *
 * The edge still opens its control listener, so more registrars can connect to it as usual.
 * SIGINT/SIGTERM: the registrar drains (as on its own), then the edge stops.
 */
import { configOrExit } from '../shared/config/env';
import { edgeFromEnvironment, logAddresses } from '../edge/environment';
import { startEdge } from '../edge/index';
import { registrarFromEnvironment, usePlainEnvironmentObject } from '../registrar/environment';
import { startRegistrar } from '../registrar/index';
import { inProcessEngine } from './in-process-engine';

async function main(): Promise<void> {
  usePlainEnvironmentObject();
  const edgeEnv = configOrExit('sip', edgeFromEnvironment);
  const registrarEnv = configOrExit('sip', registrarFromEnvironment);
  const edge = await startEdge(edgeEnv.options);
  logAddresses(edgeEnv.log, edge.addresses, edgeEnv.controlTls);
  const running = await startRegistrar({ ...registrarEnv.options, engine: inProcessEngine(edge, edgeEnv.options.secret) }).catch(async (err: unknown) => {
    await edge.stop();
    throw err;
  });
  let signalled = false;
  const shutdown = (): void => {
    if (signalled) process.exit(1);
    signalled = true;
    running
      .shutdown(registrarEnv.shutdownTimeoutMs)
      .then(() => edge.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`sip: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
