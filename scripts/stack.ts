// Runs edge, API, registrar and provisioning server as child processes (what `npm start` ends with),
// prefixes their output, prints where each part listens once all answer, and
// stops them all when one exits or on SIGINT/SIGTERM.
import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseSection } from '../shared/config/env';
import { apiSection } from '../shared/config/api';
import { drachtioSection } from '../shared/config/drachtio';
import { edgeSection } from '../shared/config/edge';
import { provisioningSection } from '../shared/config/provisioning';
import { registrarSection } from '../shared/config/registrar';

interface Part {
  name: string;
  entry: string;
  /** Resolves when the part answers. */
  ready: () => Promise<boolean>;
}

const api = parseSection(apiSection);
const drachtio = parseSection(drachtioSection);
const edge = parseSection(edgeSection);
const registrar = parseSection(registrarSection);
const provisioning = parseSection(provisioningSection);

function local(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: local(host), port });
    s.setTimeout(1000);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

const parts: Part[] = [
  { name: 'edge', entry: 'edge/main.js', ready: () => tcpOpen(drachtio.DRACHTIO_HOST, drachtio.DRACHTIO_PORT) },
  { name: 'api', entry: 'api/main.js', ready: () => httpOk(`http://${local(api.API_HOST)}:${api.API_PORT}/livez`) },
  { name: 'registrar', entry: 'registrar/main.js', ready: () => httpOk(`http://${local(registrar.REGISTRAR_HTTP_HOST)}:${registrar.REGISTRAR_HTTP_PORT}/livez`) },
  { name: 'provisioning', entry: 'provisioning/main.js', ready: () => tcpOpen(provisioning.PROVISIONING_HOST, provisioning.PROVISIONING_PORT) },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function pipe(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) out.write(`[${name}] ${line}\n`);
  });
}

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(code);
  }, 5000);
  deadline.unref();
  const check = setInterval(() => {
    if ([...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) {
      clearInterval(check);
      process.exit(code);
    }
  }, 100);
}

/** V8 flags from NODE_GC_FLAGS (defaulted by scripts/services.sh, which start.sh sources). */
function gcFlags(): string[] {
  return (process.env.NODE_GC_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

async function waitReady(part: Part): Promise<void> {
  for (let i = 0; i < 120 && !stopping; i++) {
    if (await part.ready()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${part.name} did not become ready`);
}

async function main(): Promise<void> {
  for (const part of parts) {
    const child = spawn(process.execPath, ['--enable-source-maps', ...gcFlags(), join(__dirname, '..', part.entry)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    children.set(part.name, child);
    pipe(part.name, child.stdout!, process.stdout);
    pipe(part.name, child.stderr!, process.stderr);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[stack] ${part.name} exited (${signal ?? code}); stopping the stack`);
        stopAll(1);
      }
    });
    await waitReady(part);
  }
  const tls = edge.SIP_TLS_CERT && edge.SIP_TLS_KEY ? `tls ${edge.SIP_BIND}:${edge.SIP_TLS_PORT}` : 'tls off (set SIP_TLS_CERT and SIP_TLS_KEY)';
  console.log(
    [
      '',
      'Stack is up:',
      `  API              http://${local(api.API_HOST)}:${api.API_PORT}/v2  (header X-Auth-Token; OpenAPI at /v2/openapi.json)`,
      `  console          http://${local(api.API_HOST)}:${api.API_PORT}/console/  (sign in with an API key)`,
      `  API metrics      http://${local(api.API_METRICS_HOST)}:${api.API_METRICS_PORT}/metrics`,
      `  SIP              udp+tcp ${edge.SIP_BIND}:${edge.SIP_PORT}, ${tls}`,
      `  provisioning     ${provisioning.PROVISIONING_TLS_CERT && provisioning.PROVISIONING_TLS_KEY ? 'https' : 'http'}://${local(provisioning.PROVISIONING_HOST)}:${provisioning.PROVISIONING_PORT}/<file>  (phones fetch their files: docs/provisioning.md)`,
      `  provisioning metrics http://${local(provisioning.PROVISIONING_METRICS_HOST)}:${provisioning.PROVISIONING_METRICS_PORT}/metrics`,
      `  drachtio control ${drachtio.DRACHTIO_HOST}:${drachtio.DRACHTIO_PORT}`,
      `  registrar        http://${local(registrar.REGISTRAR_HTTP_HOST)}:${registrar.REGISTRAR_HTTP_PORT}/metrics, /readyz`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
main().catch((err: Error) => {
  console.error(`[stack] ${err.message}`);
  stopAll(1);
});
