import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './wait';

const run = promisify(execFile);

/** A free loopback TCP port whose +10000 (the cluster bus port) is free too. */
async function freePortPair(): Promise<number> {
  const tryPort = (p: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 30000);
    if ((await tryPort(p)) && (await tryPort(p + 10000))) return p;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

export interface RedisClusterNode {
  port: number;
  process: ChildProcess;
}

export interface TestRedisCluster {
  /** Seed nodes, `127.0.0.1:port`. */
  readonly nodes: string[];
  /** Every node started, by port. */
  readonly byPort: Map<number, RedisClusterNode>;
  /** The port of the master serving `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
  masterOf(key: string): Promise<number>;
  /** `kill -9` of one node this helper started. */
  kill(port: number): void;
  /** Waits until every live node reports cluster_state:ok and `port` is no longer a master. */
  waitFailover(deadPort: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;

/**
 * A real Redis Cluster on loopback for one test file: `masters` masters with one replica
 * each (redis-server --cluster-enabled yes, redis-cli --cluster create), nothing on disk
 * but the nodes files in a temporary folder. Only the processes it started are stopped.
 */
export async function startRedisCluster(masters = 3, nodeTimeoutMs = 1500): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const byPort = new Map<number, RedisClusterNode>();
  for (let i = 0; i < masters * 2; i++) {
    const port = await freePortPair();
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(nodeTimeoutMs), '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    byPort.set(port, { port, process: proc });
  }
  const ports = [...byPort.keys()];
  for (const port of ports) {
    for (let i = 0; ; i++) {
      try {
        if ((await cli(port, 'PING')).trim() === 'PONG') break;
      } catch {
        // not up yet
      }
      if (i > 100) throw new Error(`redis-server on ${port} did not start`);
      await sleep(50);
    }
  }
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
  const waitOk = async (live: number[], timeoutMs: number): Promise<void> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(live.map((p) => cli(p, 'CLUSTER', 'INFO').catch(() => '')));
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      if (Date.now() > end) throw new Error('Redis Cluster did not reach cluster_state:ok');
      await sleep(100);
    }
  };
  await waitOk(ports, 20_000);
  // A replica that has not finished its first sync cannot be promoted: wait for every link.
  for (const port of ports) {
    for (let i = 0; ; i++) {
      const info = await cli(port, 'INFO', 'replication');
      if (info.includes('role:master') || info.includes('master_link_status:up')) break;
      if (i > 200) throw new Error(`replica on ${port} did not sync`);
      await sleep(50);
    }
  }
  const alive = (): number[] => ports.filter((p) => byPort.get(p)!.process.exitCode === null && !byPort.get(p)!.process.killed);
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    byPort,
    async masterOf(key) {
      const port = alive()[0]!;
      const slot = Number((await cli(port, 'CLUSTER', 'KEYSLOT', key)).trim());
      const nodes = (await cli(port, 'CLUSTER', 'NODES')).trim().split('\n');
      for (const line of nodes) {
        const [, addr, flags, , , , , , ...ranges] = line.split(' ');
        if (!flags?.includes('master') || flags.includes('fail')) continue;
        for (const r of ranges) {
          const [a, b] = r.split('-').map(Number);
          if (slot >= a! && slot <= (b ?? a)!) return Number(addr!.split('@')[0]!.split(':')[1]);
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    kill(port) {
      byPort.get(port)?.process.kill('SIGKILL');
    },
    async waitFailover(deadPort, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      const live = alive().filter((p) => p !== deadPort);
      for (;;) {
        const nodes = (await cli(live[0]!, 'CLUSTER', 'NODES').catch(() => '')).split('\n');
        const dead = nodes.find((l) => l.includes(`:${deadPort}@`));
        if (dead?.includes('fail') && !dead.includes('fail?')) break;
        if (Date.now() > end) throw new Error(`node ${deadPort} was not marked failed`);
        await sleep(100);
      }
      await waitOk(live, Math.max(1000, end - Date.now()));
    },
    async stop() {
      for (const n of byPort.values()) if (n.process.exitCode === null) n.process.kill('SIGKILL');
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
