// API benchmark (`bash bench/api-bench.sh`): a bare Express hello-world, GET device
// (with live status from Redis) and a list of 100 devices in an account of
// 100,000, side by side in one run, each server in its own process, autocannon
// in this one. Prints a Markdown table for docs/benchmarks.md.
//
// Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sipreg_api_bench),
// BENCH_REDIS_URL, BENCH_DEVICES (100000), BENCH_RUNS (3, best kept), BENCH_DURATION (10 s),
// BENCH_CONNECTIONS (32), BENCH_RATE (1000 req/s: fixed-rate latency of hello-world and GET device),
// BENCH_LIST_RATE (200 req/s: fixed-rate latency of the list).
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pacedLoad } from './paced-load';
import autocannon from 'autocannon';
import express from 'express';
import { storedCredentials, CredentialCipher, generateSipPassword } from '../shared/credentials';
import { createPool } from '../shared/db';
import { ensureDatabase, migrate } from '../shared/migrate';
import { createRedis } from '../shared/redis';
import { RegistrationStore } from '../shared/registration-store';
import { createApiKey } from '../api/api-keys';
import { loadApiConfig } from '../api/config';
import { startApi } from '../api/index';
import { encodeKeysetCursor } from '../api/cursors';

const env = process.env;
const DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/sipreg_api_bench';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PREFIX = 'bench:api:';
const DEVICES = Number(env.BENCH_DEVICES ?? 100_000);
const RUNS = Number(env.BENCH_RUNS ?? 3);
const DURATION = Number(env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(env.BENCH_RATE ?? 1000);
const LIST_RATE = Number(env.BENCH_LIST_RATE ?? 200);
const ACCOUNT = 'acc_bench100k';
const DOMAIN = 'bench.sip.example';
/** Bench-only key, derived so that re-runs reuse seeded ciphertext. */
const CREDENTIAL_KEYS = `bench:${createHash('sha256').update('sipreg api bench').digest('base64')}`;

/** Child role: serve the API or the hello-world and print the bound port. */
async function serve(role: string): Promise<void> {
  if (role === 'serve-hello') {
    const app = express();
    app.get('/', (_req, res) => {
      res.send('Hello World!');
    });
    const server = app.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}`);
    });
    return;
  }
  const config = loadApiConfig({ ...env, DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX: PREFIX, CREDENTIAL_KEYS, LOG_LEVEL: env.BENCH_LOG_LEVEL ?? 'warn' });
  const api = await startApi({ config, host: '127.0.0.1', port: 0, metricsPort: null });
  const stop = (): void => {
    api.stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`LISTENING ${api.address.port}`);
}

function startChild(role: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [__filename, role], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function seed(): Promise<{ deviceIds: string[]; cursors: string[] }> {
  await ensureDatabase(DATABASE_URL, (u) => createPool(u, { max: 1 }));
  const pool = createPool(DATABASE_URL, { max: 4 });
  try {
    await migrate(pool, join(process.cwd(), 'migrations'));
    await pool.query('INSERT INTO accounts (id, name, sip_domain) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [ACCOUNT, 'Bench 100k', DOMAIN]);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE account_id = $1', [ACCOUNT]);
    if (rows[0]!.n !== DEVICES) {
      console.error(`seeding ${DEVICES} devices (multi-row INSERT with precomputed credentials)...`);
      const started = Date.now();
      await pool.query('DELETE FROM devices WHERE account_id = $1', [ACCOUNT]);
      const cipher = CredentialCipher.fromConfig(CREDENTIAL_KEYS);
      const base = Date.parse('2024-01-01T00:00:00Z');
      const BATCH = 5000;
      for (let start = 0; start < DEVICES; start += BATCH) {
        const cols: string[][] = [[], [], [], [], [], [], [], [], []];
        for (let i = start; i < Math.min(DEVICES, start + BATCH); i++) {
          const id = `dev_sip_bench${String(i).padStart(7, '0')}`;
          const user = `b${i}`;
          const c = storedCredentials(cipher, { id, sipUsername: user, sipDomain: DOMAIN }, generateSipPassword());
          const mac = i.toString(16).padStart(6, '0');
          [id, `Bench phone ${i}`, user, `02:be:00:${mac.slice(0, 2)}:${mac.slice(2, 4)}:${mac.slice(4, 6)}`, c.passwordEnc, c.ha1Md5, c.ha1Sha256, new Date(base + i * 1000).toISOString(), `user_${i % 500}`]
            .forEach((v, k) => cols[k]!.push(v));
        }
        await pool.query(
          `INSERT INTO devices (id, account_id, name, sip_username, sip_domain, mac_address, password_enc, ha1_md5, ha1_sha256, created_at, updated_at, assigned_user, model, manufacturer)
           SELECT id, $10, name, u, $11, mac, enc, md5, sha, ts::timestamptz, ts::timestamptz, au, 'Yealink T46S', 'Yealink'
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS t(id, name, u, mac, enc, md5, sha, ts, au)`,
          [...cols, ACCOUNT, DOMAIN],
        );
      }
      await pool.query('ANALYZE devices');
      console.error(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    // 1,000 devices to read, spread over the account; 50 list positions spread over its depth.
    const deviceIds = Array.from({ length: 1000 }, (_, i) => `dev_sip_bench${String(Math.floor((i * DEVICES) / 1000)).padStart(7, '0')}`);
    const { rows: marks } = await pool.query<{ id: string; ts: string }>(
      `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts FROM devices
        WHERE account_id = $1 AND id = ANY($2::text[])`,
      [ACCOUNT, Array.from({ length: 50 }, (_, i) => `dev_sip_bench${String(Math.floor((i * (DEVICES - 200)) / 50)).padStart(7, '0')}`)],
    );
    return { deviceIds, cursors: marks.map((m) => encodeKeysetCursor({ createdAt: m.ts, id: m.id })) };
  } finally {
    await pool.end();
  }
}

async function registerSome(deviceIds: string[]): Promise<void> {
  const redis = createRedis(REDIS_URL);
  const store = new RegistrationStore(redis, { prefix: PREFIX });
  const now = Date.now();
  for (const [i, id] of deviceIds.entries()) {
    if (i % 2) continue; // half registered, half pending: both read paths
    const ip = `10.0.${i >> 8}.${i & 255}`;
    const { version } = await store.load(id);
    await store.commit(id, version, {
      upserts: [{ id: `sip:p@${ip}`, uri: `sip:p@${ip}`, params: '', expiresAt: now + 3_600_000, callId: `c${i}`, cseq: 1, sourceAddress: ip, sourcePort: 5060, transport: 'udp', receivedOn: '127.0.0.1:5060', userAgent: 'bench', registeredAt: now }],
      removals: [],
      source: { ipAddress: ip, port: 5060, transport: 'udp', userAgent: 'bench' },
    });
  }
  await redis.quit();
}

async function apiKey(): Promise<string> {
  const pool = createPool(DATABASE_URL, { max: 1 });
  try {
    return (await createApiKey(pool, ACCOUNT, 'bench')).key;
  } finally {
    await pool.end();
  }
}

interface Target {
  name: string;
  /** Fixed request rate of the latency measurement. */
  rate: number;
  url: string;
  headers?: Record<string, string>;
  paths?: string[];
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  rateP50: number;
  rateP99: number;
}

function requestsFor(t: Target): autocannon.Options['requests'] {
  if (!t.paths) return undefined;
  let i = 0;
  const paths = t.paths;
  return [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }];
}

async function measure(t: Target): Promise<Figures> {
  const common = { url: t.url, headers: t.headers, requests: requestsFor(t) };
  const max = await autocannon({ ...common, connections: CONNECTIONS, duration: DURATION });
  if (max.non2xx || max.errors || max.timeouts) throw new Error(`${t.name}: ${max.non2xx} non-2xx, ${max.errors} errors, ${max.timeouts} timeouts`);
  // Latency at a fixed rate: evenly paced and open-loop (see bench/paced-load.ts for why not autocannon's overallRate).
  const fixed = await pacedLoad({ url: t.url, headers: t.headers, paths: t.paths, rate: t.rate, durationS: DURATION });
  if (fixed.errors) throw new Error(`${t.name}: ${fixed.errors} failed requests at ${t.rate} req/s`);
  const ms = (v: number): number => Math.round(v * 100) / 100;
  return { rps: max.requests.average, p50: max.latency.p50, p99: max.latency.p99, rateP50: ms(fixed.p50), rateP99: ms(fixed.p99) };
}

function best(a: Figures | undefined, b: Figures): Figures {
  if (!a) return b;
  return { rps: Math.max(a.rps, b.rps), p50: Math.min(a.p50, b.p50), p99: Math.min(a.p99, b.p99), rateP50: Math.min(a.rateP50, b.rateP50), rateP99: Math.min(a.rateP99, b.rateP99) };
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role) return serve(role);

  const { deviceIds, cursors } = await seed();
  await registerSome(deviceIds);
  const key = await apiKey();
  const [hello, api] = await Promise.all([startChild('serve-hello'), startChild('serve-api')]);
  try {
    const base = `http://127.0.0.1:${api.port}/v2/accounts/${ACCOUNT}/devices/sip`;
    const headers = { 'X-Auth-Token': key };
    const targets: Target[] = [
      { name: 'Express hello-world', rate: RATE, url: `http://127.0.0.1:${hello.port}/` },
      { name: 'GET device (live status)', rate: RATE, url: `${base}/${deviceIds[0]}`, headers, paths: deviceIds.map((id) => `/v2/accounts/${ACCOUNT}/devices/sip/${id}`) },
      { name: `list 100 of ${DEVICES.toLocaleString('en')}`, rate: LIST_RATE, url: `${base}?limit=100`, headers, paths: [`/v2/accounts/${ACCOUNT}/devices/sip?limit=100`, ...cursors.map((c) => `/v2/accounts/${ACCOUNT}/devices/sip?limit=100&cursor=${c}`)] },
    ];
    // Warm-up: JIT, pools, the key cache.
    for (const t of targets) await autocannon({ url: t.url, headers: t.headers, requests: requestsFor(t), connections: 8, duration: 2 });
    const results = new Map<string, Figures>();
    for (let run = 1; run <= RUNS; run++) {
      for (const t of targets) {
        const f = await measure(t);
        console.error(`run ${run} ${t.name}: ${f.rps.toFixed(0)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms; at ${t.rate} req/s p50 ${f.rateP50} ms, p99 ${f.rateP99} ms`);
        results.set(t.name, best(results.get(t.name), f));
      }
    }
    const helloRps = results.get(targets[0]!.name)!.rps;
    const lines = [
      `| case | req/s (max, ${CONNECTIONS} conns) | p50 / p99 at max (ms) | fixed rate | p50 / p99 at fixed rate (ms) | req/s vs hello-world |`,
      '|---|---:|---:|---:|---:|---:|',
      ...targets.map((t) => {
        const f = results.get(t.name)!;
        return `| ${t.name} | ${Math.round(f.rps).toLocaleString('en')} | ${f.p50} / ${f.p99} | ${t.rate} req/s | ${f.rateP50} / ${f.rateP99} | ${(f.rps / helloRps).toFixed(2)} |`;
      }),
      '',
      `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; best of ${RUNS} runs of ${DURATION} s each.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    hello.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
  }
}

main().catch((err: Error) => {
  console.error(`api-bench: ${err.message}`);
  process.exit(1);
});
