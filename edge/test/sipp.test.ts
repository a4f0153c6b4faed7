import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { Edge } from '../index';
import { recordRegisters, sharedEdgeWithApp, SrfRequest } from './support';

const SCENARIO = join(__dirname, '..', '..', 'sipp-scenarios', 'edge-register.xml');

/** A port free for both UDP and TCP on 127.0.0.1 (SIPp must never bind 5060). */
async function freePort(): Promise<number> {
  for (;;) {
    const u = dgram.createSocket('udp4');
    await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
    const port = u.address().port;
    const ok = await new Promise<boolean>((r) => {
      const s = net.createServer();
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
    });
    u.close();
    if (ok) return port;
  }
}

function sipp(edge: Edge, transport: 'u1' | 't1', port: number, calls: number): Promise<{ code: number; out: string }> {
  const args = [
    `127.0.0.1:${edge.addresses.udp.port}`,
    '-sf', SCENARIO,
    '-t', transport,
    '-i', '127.0.0.1',
    '-p', String(port),
    '-m', String(calls),
    '-r', '50',
    '-timeout', '20s',
    '-timeout_error',
    '-nostdin',
    '-s', 'alice',
  ];
  return new Promise((resolve) => {
    execFile('sipp', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
    });
  });
}

describe('SIPp REGISTERs through the edge to a drachtio-srf app', () => {
  const seen: SrfRequest[] = [];
  const shared = sharedEdgeWithApp(recordRegisters(seen, (res) => res.send(200, { headers: { Expires: '3600' } })));

  it.each([
    ['udp', 'u1'],
    ['tcp', 't1'],
  ] as const)('every REGISTER over %s gets 200, and the app sees SIPp as the source', async (protocol, mode) => {
    const port = await freePort();
    const before = seen.length;
    const r = await sipp(shared.edge, mode, port, 20);
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-2000) }).toEqual({ code: 0, tail: '' });
    const mine = seen.slice(before);
    expect(mine).toHaveLength(20);
    for (const req of mine) {
      expect(req.protocol).toBe(protocol);
      expect(req.source_address).toBe('127.0.0.1');
      if (protocol === 'udp') expect(req.source_port).toBe(port);
      expect(req.receivedOn).toBe(`127.0.0.1:${shared.edge.addresses.udp.port}`);
      // SIPp writes its own address in Via: no received, rport filled in.
      expect(req.get('Via')).toMatch(new RegExp(`;rport=${req.source_port}$`));
    }
  });
});
