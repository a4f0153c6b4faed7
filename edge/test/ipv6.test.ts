import dgram from 'node:dgram';
import net from 'node:net';
import { recordRegisters, sharedEdgeWithApp, sipRequest, SrfRequest, until } from './support';

describe('IPv6', () => {
  const seen: SrfRequest[] = [];
  const shared = sharedEdgeWithApp(recordRegisters(seen), { sipAddress: '::1' });

  it('answers a REGISTER over UDP and TCP on ::1, Via received carrying the bare IPv6 address', async () => {
    const u = dgram.createSocket('udp6');
    await new Promise<void>((r) => u.bind(0, '::1', () => r()));
    const got: string[] = [];
    u.on('message', (m) => got.push(m.toString('latin1')));
    u.send(Buffer.from(sipRequest({ host: '[2001:db8::5]', port: 5070 }), 'latin1'), shared.edge.addresses.udp.port, '::1');
    const res = await until(() => got.find((m) => m.startsWith('SIP/2.0 200')), 3000, '200 over udp6');
    expect(res).toMatch(/\r\nVia: SIP\/2\.0\/UDP \[2001:db8::5\]:5070;branch=z9hG4bK-\w+;rport=\d+;received=::1\r\n/);
    expect(seen[seen.length - 1]!.source_address).toBe('::1');
    u.close();

    const t = net.connect(shared.edge.addresses.tcp.port, '::1');
    let text = '';
    t.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await new Promise<void>((r) => t.once('connect', () => r()));
    t.write(sipRequest({ transport: 'TCP', host: '[::1]', port: t.localPort }));
    await until(() => text.startsWith('SIP/2.0 200'), 3000, '200 over tcp6');
    expect(text).toMatch(/;rport=\d+\r\n/);
    expect(text).not.toContain('received=');
    t.destroy();
  });
});

describe('IPv4 clients of an IPv6 socket (IPv4-mapped addresses)', () => {
  const seen: SrfRequest[] = [];
  // An IPv6 socket bound to an IPv4-mapped address sees its IPv4 peers as ::ffff:a.b.c.d, as a
  // dual-stack socket bound to :: does, without listening beyond loopback.
  const shared = sharedEdgeWithApp(recordRegisters(seen), { sipAddress: '::ffff:127.0.0.1' });

  it('answers over UDP and TCP to the mapped wire address and shows the app the plain IPv4 address', async () => {
    const u = dgram.createSocket('udp4');
    const t = new net.Socket();
    try {
      await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
      const got: string[] = [];
      u.on('message', (m) => got.push(m.toString('latin1')));
      u.send(Buffer.from(sipRequest({ host: '192.0.2.5', port: 5070 }), 'latin1'), shared.edge.addresses.udp.port, '127.0.0.1');
      const res = await until(() => got.find((m) => m.startsWith('SIP/2.0 200')), 3000, '200 over udp4 to a mapped socket');
      expect(res).toMatch(new RegExp(`\\r\\nVia: SIP/2\\.0/UDP 192\\.0\\.2\\.5:5070;branch=z9hG4bK-\\w+;rport=${u.address().port};received=127\\.0\\.0\\.1\\r\\n`));
      expect(seen[seen.length - 1]!.source_address).toBe('127.0.0.1');

      let text = '';
      t.on('data', (d: Buffer) => (text += d.toString('latin1')));
      await new Promise<void>((r) => t.connect(shared.edge.addresses.tcp.port, '127.0.0.1', () => r()));
      t.write(sipRequest({ transport: 'TCP', host: '127.0.0.1', port: t.localPort }));
      await until(() => text.startsWith('SIP/2.0 200'), 3000, '200 over tcp4 to a mapped socket');
      expect(seen[seen.length - 1]!.source_address).toBe('127.0.0.1');
      expect(text).not.toContain('received=');
    } finally {
      u.close();
      t.destroy();
    }
  });
});
