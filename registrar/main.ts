// Process entry of one registrar (`npm run registrar`): configuration from the environment, then startRegistrar.
import { configOrExit } from '../shared/config/env';
import { registrarFromEnvironment, usePlainEnvironmentObject } from './environment';
import { startRegistrar } from './index';

async function main(): Promise<void> {
  usePlainEnvironmentObject();
  const env = configOrExit('registrar', registrarFromEnvironment);
  const registrar = await startRegistrar(env.options);
  // SIGTERM/SIGINT: drain (the engine routes elsewhere, requests in flight are answered), then
  // exit within REGISTRAR_SHUTDOWN_TIMEOUT_S; a second signal exits at once.
  let signalled = false;
  const shutdown = (): void => {
    if (signalled) process.exit(1);
    signalled = true;
    registrar.shutdown(env.shutdownTimeoutMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: Error) => {
  process.stderr.write(`registrar: ${err.message}\n`);
  process.exit(1);
});
