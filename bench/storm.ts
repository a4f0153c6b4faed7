// The re-registration storm (bench/storm.sh starts the stack and runs this): every device is
// registered, Redis loses everything (FLUSHALL), then all of them re-register at once, offered
// at STORM_RATE. Phones behave as UDP phones do: they retransmit (500 ms doubling to 4 s, for
// 32 s), and after a 503 they wait its Retry-After. Sampled every 500 ms: devices registered
// again, 503s, the API's latency, the RSS of each process, and whether every process is alive.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { sleep } from '../shared/testing/wait';
import { env } from './env';
import { digestAnswer } from './sip-ua';

const SIP_PORT = Number(env('STORM_SIP_PORT'));
const REDIS_PORT = Number(env('STORM_REDIS_PORT'));
const API_URL = env('STORM_API_URL');
const API_KEY = env('STORM_API_KEY');
const DOMAIN = env('STORM_DOMAIN');
const DEVICES = Number(env('STORM_DEVICES', '10000'));
const RATE = Number(env('STORM_RATE', '6000'));
const WARM_RATE = Number(env('STORM_WARM_RATE', '1000'));
const CAP_S = Number(env('STORM_CAP_S', '300'));
const PIDS = env('STORM_PIDS').split(',').map((x) => { const [name, pid] = x.split('='); return { name: name!, pid: Number(pid) }; });
const SOCKETS = 32;

/** Many phones over a few UDP sockets; answers matched by Call-ID and CSeq. */
class Phones {
  private readonly sockets: Socket[] = [];
  private readonly waiting = new Map<string, (msg: string) => void>();
  retransmissions = 0;
  sent = 0;

  async open(): Promise<void> {
    for (let i = 0; i < SOCKETS; i++) {
      const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      s.on('message', (buf) => {
        const msg = buf.toString('latin1');
        const callId = /\r\nCall-ID:\s*([^\r]+)/i.exec(msg)?.[1];
        const cseq = /\r\nCSeq:\s*(\d+)/i.exec(msg)?.[1];
        if (!callId || !cseq || /^SIP\/2\.0 1\d\d/.test(msg)) return;
        this.waiting.get(`${callId}|${cseq}`)?.(msg);
      });
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      this.sockets.push(s);
    }
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }

  /** One request with retransmissions until a final answer, or null after 32 s (Timer F). */
  private transact(socket: Socket, text: string, key: string): Promise<string | null> {
    return new Promise((resolve) => {
      let t = 500;
      let timer: ReturnType<typeof setTimeout>;
      const started = Date.now();
      const done = (msg: string | null): void => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(msg);
      };
      const send = (): void => {
        this.sent++;
        socket.send(text, SIP_PORT, '127.0.0.1');
      };
      const arm = (): void => {
        timer = setTimeout(() => {
          if (Date.now() - started >= 32_000) return done(null);
          this.retransmissions++;
          send();
          t = Math.min(t * 2, 4000);
          arm();
        }, t);
      };
      this.waiting.set(key, done);
      send();
      arm();
    });
  }

  /** A full registration: the final status of the authenticated REGISTER (or of the first, when not 401), null when lost. */
  async register(i: number, answer: (status: number, msg: string) => void): Promise<void> {
    const socket = this.sockets[i % SOCKETS]!;
    const user = `u${i}`;
    const callId = `${randomBytes(8).toString('hex')}@storm`;
    const port = socket.address().port;
    const request = (cseq: number, authorization?: string): string =>
      [
        `REGISTER sip:${DOMAIN} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
        `From: <sip:${user}@${DOMAIN}>;tag=${randomBytes(4).toString('hex')}`,
        `To: <sip:${user}@${DOMAIN}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} REGISTER`,
        `Contact: <sip:${user}@127.0.0.1:${port}>`,
        'Expires: 3600',
        'Max-Forwards: 70',
        'User-Agent: StormPhone/1.0',
        ...(authorization ? [`Authorization: ${authorization}`] : []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    const first = await this.transact(socket, request(1), `${callId}|1`);
    if (!first) return answer(0, '');
    const status = Number(first.slice(8, 11));
    if (status !== 401) return answer(status, first);
    const authorization = digestAnswer(first, user, `pw${i}`, DOMAIN);
    if (!authorization) return answer(0, '');
    const final = await this.transact(socket, request(2, authorization), `${callId}|2`);
    answer(final ? Number(final.slice(8, 11)) : 0, final ?? '');
  }
}

const rssKb = (pid: number): number | null => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return null;
  }
};

async function apiLatencyMs(): Promise<number | null> {
  const started = performance.now();
  try {
    const res = await fetch(`${API_URL}/v2/accounts/acc_storm/devices/sip?limit=50`, { headers: { 'X-Auth-Token': API_KEY }, signal: AbortSignal.timeout(10_000) });
    await res.text();
    return res.ok ? performance.now() - started : null;
  } catch {
    return null;
  }
}

/** Registers every device once, each phone on its own schedule; resolves when all have a final answer. */
async function wave(phones: Phones, rate: number, onFinal: (i: number, status: number, at: number) => void, retryOn503: boolean): Promise<void> {
  const start = Date.now();
  const runs: Promise<void>[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const wait = start + (i * 1000) / rate - Date.now();
    if (wait > 0) await sleep(wait);
    const attempt = async (): Promise<void> => {
      for (;;) {
        let status = 0;
        let retryAfterS = 0;
        await phones.register(i, (s, msg) => {
          status = s;
          retryAfterS = Number(/\r\nRetry-After:\s*(\d+)/i.exec(msg)?.[1] ?? 0);
        });
        onFinal(i, status, Date.now());
        if (status === 200 || !retryOn503) return;
        // A phone that got 503 waits its Retry-After; one that got nothing tries again 5 s later.
        await sleep(status === 503 && retryAfterS > 0 ? retryAfterS * 1000 : 5000);
      }
    };
    runs.push(attempt());
  }
  await Promise.all(runs);
}

async function main(): Promise<void> {
  const phones = new Phones();
  await phones.open();

  console.error(`storm: registering ${DEVICES} devices at ${WARM_RATE}/s first`);
  let warmOk = 0;
  await wave(phones, WARM_RATE, (_i, s) => void (s === 200 && warmOk++), true);
  console.error(`storm: ${warmOk} registered; FLUSHALL`);
  execFileSync('redis-cli', ['-p', String(REDIS_PORT), 'FLUSHALL']);

  const statuses = new Map<string, number>();
  const registeredAt: (number | null)[] = new Array(DEVICES).fill(null);
  let registered = 0;
  const samples: { t: number; registered: number; apiMs: number | null; rss: Record<string, number | null> }[] = [];
  const start = Date.now();
  let finished = false;
  const monitor = (async () => {
    while (!finished) {
      const apiMs = await apiLatencyMs();
      samples.push({ t: (Date.now() - start) / 1000, registered, apiMs, rss: Object.fromEntries(PIDS.map((p) => [p.name, rssKb(p.pid)])) });
      await sleep(500);
    }
  })();
  const storm = wave(
    phones,
    RATE,
    (i, s, at) => {
      statuses.set(String(s), (statuses.get(String(s)) ?? 0) + 1);
      if (s === 200 && registeredAt[i] === null) {
        registeredAt[i] = at - start;
        registered++;
      }
    },
    true,
  );
  await Promise.race([storm, sleep(CAP_S * 1000)]);
  finished = true;
  await monitor;
  phones.close();

  const dead = PIDS.filter((p) => rssKb(p.pid) === null).map((p) => p.name);
  const times = registeredAt.filter((t): t is number => t !== null).sort((a, b) => a - b);
  const apiTimes = samples.map((s) => s.apiMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const apiFailures = samples.filter((s) => s.apiMs === null).length;
  const peak = Object.fromEntries(PIDS.map((p) => [p.name, Math.max(...samples.map((s) => s.rss[p.name] ?? 0)) / 1024]));
  const q = (arr: number[], f: number): number => arr[Math.min(arr.length - 1, Math.floor(arr.length * f))] ?? NaN;
  const summary = {
    devices: DEVICES,
    offeredRate: RATE,
    registered: times.length,
    allRegisteredS: times.length === DEVICES ? Number((times[times.length - 1]! / 1000).toFixed(1)) : null,
    halfRegisteredS: Number((q(times, 0.5) / 1000).toFixed(1)),
    answers: Object.fromEntries(statuses),
    requestsSent: phones.sent,
    retransmissions: phones.retransmissions,
    apiP50Ms: Number(q(apiTimes, 0.5).toFixed(1)),
    apiMaxMs: Number((apiTimes[apiTimes.length - 1] ?? NaN).toFixed(1)),
    apiFailedSamples: apiFailures,
    peakRssMb: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Number(v.toFixed(0))])),
    processesDead: dead,
  };
  console.log(JSON.stringify(summary));
  const curve = samples.filter((_, k) => k % 4 === 0).map((s) => `${s.t.toFixed(0)}s:${s.registered}`).join(' ');
  console.error(`storm: registered over time ${curve}`);
  process.exit(dead.length === 0 && times.length === DEVICES ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(`storm: ${err.message}`);
  process.exit(1);
});
