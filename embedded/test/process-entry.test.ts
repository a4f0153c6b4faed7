import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistrationStore } from '../../shared/registration-store';
import { createTestDb, type TestDb } from '../../shared/testing/db';
import { testRedisUrl } from '../../shared/testing/env';
import { clearPrefix, testKeyPrefix, testRedis } from '../../shared/testing/redis';
import { until } from '../../shared/testing/wait';
import { DOMAIN, freePort, insertDevice, Phone, SipClient } from '../../registrar/test/support';

/** `npm run sip` (embedded/main.ts) as a process: configured from the environment, registers a phone, drains on SIGTERM. */
describe('the embedded process entry', () => {
  let db: TestDb;
  let proc: ChildProcess;
  let dataDir: string;
  const prefix = testKeyPrefix();
  const redis = testRedis();
  let output = '';

  beforeAll(async () => {
    db = await createTestDb();
    const accountId = `acc_${randomBytes(6).toString('hex')}`;
    await db.pool.query('INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3)', [accountId, 'Embedded', DOMAIN]);
    await insertDevice(db.pool, accountId, { id: 'dev_sip_entry', username: 'entry', password: 'entry-secret' });
    dataDir = mkdtempSync(join(tmpdir(), 'embedded-'));
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await clearPrefix(redis, prefix);
    redis.disconnect();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts edge and registrar in one process, registers over UDP, and exits 0 after SIGTERM', async () => {
    const [sipPort, tlsPort, controlPort, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const root = join(__dirname, '..', '..');
    proc = spawn(process.execPath, ['-r', join(root, 'shared', 'testing', 'swc-register.js'), join(root, 'embedded', 'main.ts')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: `${db.databaseUrl}?options=${encodeURIComponent(`-c search_path=${db.schema}`)}`,
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: prefix,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        SIP_BIND: '127.0.0.1',
        SIP_PORT: String(sipPort),
        SIP_TLS_PORT: String(tlsPort),
        DRACHTIO_HOST: '127.0.0.1',
        DRACHTIO_PORT: String(controlPort),
        REGISTRAR_HTTP_HOST: '127.0.0.1',
        REGISTRAR_HTTP_PORT: String(httpPort),
        EDGE_METRICS_PORT: String(metricsPort),
      },
    });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await until(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => null))?.ok, 20_000, 'readyz');
    expect(output).toContain('"remote":"in-process:');

    const udp = await SipClient.udp({ address: '127.0.0.1', port: sipPort });
    try {
      expect((await new Phone(udp, 'entry', 'entry-secret').register()).final?.status).toBe(200);
    } finally {
      udp.close();
    }
    expect(await new RegistrationStore(redis, { prefix }).getStatus('dev_sip_entry')).toMatchObject({ registrationStatus: 'registered', transport: 'udp' });

    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('registrar stopped');
  }, 40_000);

  it('exits 2 and names the setting when the configuration is invalid', async () => {
    const root = join(__dirname, '..', '..');
    const bad = spawn(process.execPath, ['-r', join(root, 'shared', 'testing', 'swc-register.js'), join(root, 'embedded', 'main.ts')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DATA_DIR: dataDir, SIP_PORT: 'not-a-port' },
    });
    let stderr = '';
    bad.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^sip: invalid configuration:[\s\S]*SIP_PORT/);
  }, 20_000);
});
