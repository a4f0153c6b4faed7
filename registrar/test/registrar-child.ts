// A registrar in a process of its own, for tests that kill it (SIGKILL) or stop it (SIGTERM):
// `node -r ./shared/testing/swc-register.js registrar/test/registrar-child.ts` with its options
// as JSON in REGISTRAR_CHILD_OPTIONS. Prints `ready <http port>` once connected to its engine.
import pino from 'pino';
import { startRegistrar, RegistrarOptions } from '../index';

async function main(): Promise<void> {
  const opts = JSON.parse(process.env.REGISTRAR_CHILD_OPTIONS ?? '{}') as Omit<RegistrarOptions, 'log'>;
  const registrar = await startRegistrar({ ...opts, log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  for (let i = 0; i < 400 && !registrar.engineConnected; i++) await new Promise((r) => setTimeout(r, 25));
  process.stdout.write(`ready ${registrar.http.port}\n`);
  // As registrar/main.ts does: drain, then stop.
  process.once('SIGTERM', () => {
    registrar.shutdown(10_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: Error) => {
  process.stderr.write(`registrar-child: ${err.message}\n`);
  process.exit(1);
});
