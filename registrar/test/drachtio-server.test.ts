import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createTestDb, TestDb } from '../../shared/testing/db';
import { testRedisUrl } from '../../shared/testing/env';
import { clearPrefix, testKeyPrefix, testRedis } from '../../shared/testing/redis';
import { until } from '../../shared/testing/wait';
import type { Redis } from '../../shared/redis';
import { RunningRegistrar, startRegistrar } from '../index';
import { buildRegister, DOMAIN, freePort, insertDevice, Phone, SipClient } from './support';

// The registrar behind the real drachtio-server (the production engine), when a binary is
// given: DRACHTIO_SERVER_BIN, or `drachtio-server` on the PATH. Without one, one line says so.

function findBinary(): string | null {
  if (process.env.DRACHTIO_SERVER_BIN) return existsSync(process.env.DRACHTIO_SERVER_BIN) ? process.env.DRACHTIO_SERVER_BIN : null;
  try {
    return execFileSync('sh', ['-c', 'command -v drachtio-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const BIN = findBinary();
if (!BIN) console.log('drachtio-server tests skipped: no binary (set DRACHTIO_SERVER_BIN, or put drachtio-server on the PATH)');
const describeIf = BIN ? describe : describe.skip;

describeIf('the registrar behind drachtio-server', () => {
  let dir: string;
  let server: ChildProcess;
  let sipPort: number;
  let db: TestDb;
  let redis: Redis;
  let prefix: string;
  const registrars: RunningRegistrar[] = [];
  const secret = randomBytes(12).toString('hex');
  const nonceSecret = randomBytes(24).toString('hex');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drachtio-'));
    const adminPort = await freePort();
    sipPort = await freePort();
    writeFileSync(
      join(dir, 'drachtio.conf.xml'),
      `<drachtio>
  <admin port="${adminPort}" secret="${secret}">127.0.0.1</admin>
  <sip><contacts><contact>sip:127.0.0.1:${sipPort};transport=udp,tcp</contact></contacts></sip>
  <cdrs>false</cdrs>
  <logging><console/><loglevel>notice</loglevel><sofia-loglevel>1</sofia-loglevel></logging>
</drachtio>
`,
    );
    // Its DRACHTIO_* variables would win over the file: none of this process's reach it.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRACHTIO_')));
    server = spawn(BIN!, ['-f', join(dir, 'drachtio.conf.xml')], { env, stdio: 'ignore' });
    db = await createTestDb();
    prefix = testKeyPrefix();
    redis = testRedis();
    const accountId = `acc_${randomBytes(6).toString('hex')}`;
    await db.pool.query('INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3)', [accountId, 'drachtio', DOMAIN]);
    await insertDevice(db.pool, accountId, { id: 'dev_sip_d1', username: 'd1', password: 'd1-secret' });
    await insertDevice(db.pool, accountId, { id: 'dev_sip_d2', username: 'd2', password: 'd2-secret' });
    for (let i = 0; i < 2; i++) {
      registrars.push(
        await startRegistrar({
          databaseUrl: db.databaseUrl,
          databaseSchema: db.schema,
          databasePoolSize: 4,
          redisUrl: testRedisUrl(),
          redisKeyPrefix: prefix,
          engine: { host: '127.0.0.1', port: adminPort, secret },
          http: { host: '127.0.0.1', port: 0 },
          defaultDomain: 'default.test.example',
          nonceSecret,
          log: pino({ level: 'silent' }),
          eventFlushMs: 25,
        }),
      );
    }
    await until(() => registrars.every((r) => r.engineConnected), 15_000, 'both registrars connected to drachtio-server', 50);
  }, 60_000);

  afterAll(async () => {
    for (const r of registrars) await r.stop();
    server?.kill('SIGKILL');
    await clearPrefix(redis, prefix).catch(() => undefined);
    redis?.disconnect();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers with digest over UDP and TCP', async () => {
    const udp = await SipClient.udp({ address: '127.0.0.1', port: sipPort });
    const tcp = await SipClient.tcp({ address: '127.0.0.1', port: sipPort });
    try {
      const viaUdp = await new Phone(udp, 'd1', 'd1-secret').register();
      expect([viaUdp.challenge?.status, viaUdp.final?.status]).toEqual([401, 200]);
      const viaTcp = await new Phone(tcp, 'd2', 'd2-secret').register();
      expect([viaTcp.challenge?.status, viaTcp.final?.status]).toEqual([401, 200]);
      expect((await new Phone(udp, 'd1', 'wrong').register()).final?.status).toBe(401);
    } finally {
      udp.close();
      tcp.close();
    }
  });

  it('drops the 6.5 KB header whose answer would wedge drachtio-server\'s control connection, and keeps serving', async () => {
    const tcp = await SipClient.tcp({ address: '127.0.0.1', port: sipPort });
    const udp = await SipClient.udp({ address: '127.0.0.1', port: sipPort });
    try {
      const big = 'x'.repeat(6_600);
      const text = buildRegister({ user: 'd1', callId: 'big-drachtio@test', cseq: 1, transport: 'TCP', localPort: tcp.localPort, contact: '<sip:d1@127.0.0.1:5999>', expires: 3600 })
        .replace(/^From: <([^>]+)>;tag=\w+/m, `From: <$1>;tag=${big}`)
        .replace(/^To: </m, `To: "${big}" <`);
      tcp.send(text);
      expect(await tcp.next('big-drachtio@test', 1, 1000)).toBeNull();
      // The engine still answers everyone.
      for (let i = 0; i < 4; i++) expect((await new Phone(udp, 'd1', 'd1-secret').register()).final?.status).toBe(200);
    } finally {
      tcp.close();
      udp.close();
    }
  });

  it('spreads REGISTERs over the two registrars connected to it', async () => {
    const udp = await SipClient.udp({ address: '127.0.0.1', port: sipPort });
    try {
      for (let i = 0; i < 6; i++) expect((await new Phone(udp, 'd2', 'd2-secret').register()).final?.status).toBe(200);
    } finally {
      udp.close();
    }
    const counts = await Promise.all(
      registrars.map(async (r) => [...(await (await fetch(`http://127.0.0.1:${r.http.port}/metrics`)).text()).matchAll(/^registrar_registrations_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)),
    );
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it('stops routing to a registrar whose connection drops: every later REGISTER is answered by the other', async () => {
    // The second registrar's connection goes away at once, as when its process dies.
    await registrars.pop()!.stop();
    const udp = await SipClient.udp({ address: '127.0.0.1', port: sipPort });
    try {
      const first = await new Phone(udp, 'd1', 'd1-secret', { timeoutMs: 6000, retransmit: true }).register();
      const seen: (number | null)[] = [];
      for (let i = 0; i < 10; i++) seen.push((await new Phone(udp, 'd1', 'd1-secret', { timeoutMs: 1000 }).register()).final?.status ?? null);
      console.log(`drachtio-server after a registrar left: first ${first.challenge?.status}/${first.final?.status}, then ${JSON.stringify(seen)}`);
      // The first, sent as the connection drops, gets through on a retransmission at worst.
      expect(first.final?.status).toBe(200);
      expect(seen).toEqual(new Array(10).fill(200));
    } finally {
      udp.close();
    }
  });
});
