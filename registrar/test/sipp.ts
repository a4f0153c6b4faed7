/** Runs SIPp scenarios of sipp-scenarios/ against a test stack: local port given, 127.0.0.1 only, bounded time, only our own PID killed. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support';

export const SCENARIOS = join(__dirname, '..', '..', 'sipp-scenarios');

export interface SippRow {
  user: string;
  password: string;
  domain: string;
}

export interface SippResult {
  code: number | null;
  errors: string;
}

/** CSV for -inf: user;password;domain;[authentication …] (see the scenario headers). */
export function sippCsv(rows: SippRow[]): string {
  return ['SEQUENTIAL', ...rows.map((r) => `${r.user};${r.password};${r.domain};[authentication username=${r.user} password=${r.password}]`)].join('\n') + '\n';
}

export async function runSipp(opts: {
  scenario: string;
  target: { address: string; port: number };
  rows: SippRow[];
  transport?: 'u1' | 't1';
  calls?: number;
  rate?: number;
  timeoutS?: number;
}): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'registrar-sipp-'));
  const csv = join(dir, 'users.csv');
  writeFileSync(csv, sippCsv(opts.rows));
  const errFile = join(dir, 'errors.log');
  const args = [
    `${opts.target.address}:${opts.target.port}`,
    '-sf', join(SCENARIOS, opts.scenario),
    '-inf', csv,
    '-auth_uri', opts.rows[0]!.domain,
    '-i', '127.0.0.1',
    '-p', String(await freePort()),
    '-t', opts.transport ?? 'u1',
    '-m', String(opts.calls ?? opts.rows.length),
    '-r', String(opts.rate ?? 50),
    '-timeout', `${opts.timeoutS ?? 20}s`,
    '-timeout_error',
    '-trace_err', '-error_file', errFile,
    '-nostdin',
  ];
  const child = spawn('sipp', args, { stdio: 'ignore', cwd: dir });
  const code = await new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), ((opts.timeoutS ?? 20) + 10) * 1000);
    child.on('exit', (c) => {
      clearTimeout(kill);
      resolve(c);
    });
  });
  return { code, errors: existsSync(errFile) ? readFileSync(errFile, 'utf8') : '' };
}
