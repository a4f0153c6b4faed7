import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { CredentialCipher } from '../../../shared/credentials';
import { REDACT_PATHS } from '../../../shared/logger';
import type { Redis } from '../../../shared/redis';
import { RegistrationStore } from '../../../shared/registration-store';
import { SipBlocks } from '../../../shared/sip-blocks';
import { createTestDb, TestDb } from '../../../shared/testing/db';
import { clearPrefix, testKeyPrefix } from '../../../shared/testing/redis';
import { testRedisUrl } from '../../../shared/testing/env';
import { createRedis } from '../../../shared/redis';
import { loadApiConfig } from '../../config';
import { RunningApi, startApi } from '../../index';
import { checkResponse } from './json-schema';

/** One HTTP exchange as a test sees it. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary response fields
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Raw body, sent as is (with `contentType`). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Skip the OpenAPI check (only for requests to undocumented paths, e.g. an unknown route). */
  skipOpenApi?: boolean;
}

/**
 * A real API on port 0 over this test file's own PostgreSQL schema and Redis
 * prefix. Every response is checked against the served OpenAPI document; every
 * log line is kept in `logs` for leak checks.
 */
export interface Harness {
  readonly db: TestDb;
  readonly redis: Redis;
  readonly prefix: string;
  readonly api: RunningApi;
  readonly baseUrl: string;
  readonly store: RegistrationStore;
  readonly sipBlocks: SipBlocks;
  readonly cipher: CredentialCipher;
  /** ADMIN_API_KEY of this API (an operator key). */
  readonly adminKey: string;
  readonly logs: string[];
  /** Every exchange so far (method, path, reply). */
  readonly exchanges: { method: string; path: string; reply: Reply }[];
  req(method: string, path: string, opts?: RequestOptions): Promise<Reply>;
  /** Creates an account through the API; returns its id and first key. */
  createAccount(name?: string, sipDomain?: string): Promise<{ accountId: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

/** Options of startHarness beyond the environment. */
export interface HarnessOptions {
  /** Clock of the API (ms since epoch), e.g. to move past a rate-limit window. */
  now?: () => number;
  /** An existing schema and Redis prefix (e.g. a registrar stack's) instead of fresh ones; left in place by close(). */
  shared?: { db: TestDb; prefix: string };
  /** The keyring, when another process of the test (e.g. the provisioning server) must read what this API encrypts. */
  cipher?: CredentialCipher;
  /** Folder of a built console to serve at /console/. */
  consoleDir?: string;
  /** A Redis Cluster's seed nodes instead of the test Redis. */
  redisClusterNodes?: string[];
}

export async function startHarness(env: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const db = options.shared?.db ?? (await createTestDb());
  // As startApi configures its own client: auto-pipelined.
  const redis = createRedis(options.redisClusterNodes ? { clusterNodes: options.redisClusterNodes } : testRedisUrl(), { enableAutoPipelining: true });
  const prefix = options.shared?.prefix ?? testKeyPrefix();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  const cipher = options.cipher ?? new CredentialCipher(new Map([['t1', randomBytes(32)]]), 't1');
  const adminKey = `admin-${randomBytes(18).toString('base64url')}`;
  const config = loadApiConfig({
    DATABASE_URL: db.databaseUrl,
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: adminKey,
    SIP_DEFAULT_DOMAIN: 'sip.test.example',
    LOG_LEVEL: 'trace',
    ...env,
  });
  const api = await startApi({ config, log, pool: db.pool, redis, cipher, host: '127.0.0.1', port: 0, metricsPort: 0, now: options.now, consoleDir: options.consoleDir });
  const baseUrl = `http://127.0.0.1:${api.address.port}`;
  const exchanges: Harness['exchanges'] = [];
  let openapi: Record<string, unknown> | undefined;

  const req = async (method: string, path: string, opts: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? adminKey : opts.token;
    if (token !== null) headers['X-Auth-Token'] = token;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      if (opts.contentType) headers['Content-Type'] = opts.contentType;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const reply: Reply = { status: res.status, headers: res.headers, text, body: parsed };
    exchanges.push({ method, path, reply });
    if (!opts.skipOpenApi && path !== '/v2/openapi.json') {
      openapi ??= (await (await fetch(`${baseUrl}/v2/openapi.json`)).json()) as Record<string, unknown>;
      const problems = checkResponse(openapi, method, path, res.status, res.headers.get('content-type'), text ? parsed : undefined);
      if (problems.length) throw new Error(`response does not match the OpenAPI document:\n  ${problems.join('\n  ')}\nbody: ${text.slice(0, 500)}`);
    }
    return reply;
  };

  return {
    db,
    redis,
    prefix,
    api,
    baseUrl,
    store: new RegistrationStore(redis, { prefix }),
    sipBlocks: new SipBlocks(redis, { prefix }),
    cipher,
    adminKey,
    logs,
    exchanges,
    req,
    async createAccount(name = 'Test account', sipDomain?: string) {
      const r = await req('POST', '/v2/accounts', { body: sipDomain ? { name, sipDomain } : { name } });
      if (r.status !== 201) throw new Error(`account creation failed: ${r.status} ${r.text}`);
      return { accountId: r.body.account.id as string, key: r.body.apiKey.key as string, keyId: r.body.apiKey.id as string };
    },
    async close() {
      await api.stop();
      if (!options.shared) await clearPrefix(redis, prefix).catch(() => undefined);
      await redis.quit().catch(() => undefined);
      if (!options.shared) await db.close();
    },
  };
}

/** A device body like the seed's example, with unique sipUsername and macAddress. */
export function deviceBody(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const hex = n.toString(16).padStart(6, '0');
  return {
    name: `Desk Phone ${n}`,
    model: 'Yealink T46S',
    manufacturer: 'Yealink',
    macAddress: `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
    sipUsername: `user${n}`,
    displayName: `User ${n}`,
    assignedUser: `user_${n}`,
    ...extra,
  };
}
