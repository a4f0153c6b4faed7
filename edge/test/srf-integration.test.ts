import { selfSignedCert } from '../../shared/testing/tls';
import { recordRegisters, sharedEdgeWithApp, sipRequest, SrfRequest, StreamClient, UdpClient } from './support';

describe('a drachtio-srf app behind the edge', () => {
  const seen: SrfRequest[] = [];
  const cert = selfSignedCert();
  const shared = sharedEdgeWithApp(
    recordRegisters(seen, (res) => res.send(200, { headers: { Expires: '3600', 'X-Test': 'yes' } })),
    { tls: { cert: cert.certPath, key: cert.keyPath } },
  );

  it('receives a REGISTER over UDP with drachtio-server metadata and its 200 reaches the client', async () => {
    const client = await UdpClient.open();
    try {
      client.send(shared.edge, sipRequest({ host: '192.0.2.1', port: 35596 }));
      const res = await client.waitFor(/^SIP\/2\.0 200/);
      const req = seen[seen.length - 1]!;
      expect(req.protocol).toBe('udp');
      expect(req.source_address).toBe('127.0.0.1');
      expect(req.source_port).toBe(client.port);
      expect(req.receivedOn).toBe(`127.0.0.1:${shared.edge.addresses.udp.port}`);
      expect(req.get('Via')).toMatch(new RegExp(`^SIP/2.0/UDP 192.0.2.1:35596;branch=z9hG4bK-[0-9a-f]+;rport=${client.port};received=127.0.0.1$`));
      expect(res).toMatch(new RegExp(`\r\nVia: SIP/2.0/UDP 192.0.2.1:35596;branch=z9hG4bK-[0-9a-f]+;rport=${client.port};received=127.0.0.1\r\n`));
      expect(res).toMatch(/\r\nTo: <sip:alice@example.com>;tag=\w+\r\n/);
      expect(res).toMatch(/\r\nX-Test: yes\r\n/);
      expect(res).toMatch(/\r\nExpires: 3600\r\n/);
    } finally {
      client.close();
    }
  });

  it('receives a REGISTER over TCP; receivedOn names the listening socket', async () => {
    const client = await StreamClient.tcp(shared.edge);
    try {
      client.send(sipRequest({ transport: 'TCP', host: '127.0.0.1', port: client.localPort }));
      await client.waitFor(/^SIP\/2\.0 200/);
      const req = seen[seen.length - 1]!;
      expect(req.protocol).toBe('tcp');
      expect(req.source_port).toBe(client.localPort);
      expect(req.receivedOn).toBe(`127.0.0.1:${shared.edge.addresses.tcp.port}`);
      expect(req.get('Via')).toMatch(new RegExp(`;rport=${client.localPort}$`));
    } finally {
      client.close();
    }
  });

  it('receives a REGISTER over TLS', async () => {
    const client = await StreamClient.tls(shared.edge);
    try {
      client.send(sipRequest({ transport: 'TLS', host: 'phone.invalid', port: 5061 }));
      await client.waitFor(/^SIP\/2\.0 200/);
      const req = seen[seen.length - 1]!;
      expect(req.protocol).toBe('tls');
      expect(req.receivedOn).toBe(`127.0.0.1:${shared.edge.addresses.tls!.port}`);
      expect(req.get('Via')).toMatch(new RegExp(`;rport=${client.localPort};received=127.0.0.1$`));
    } finally {
      client.close();
    }
  });
});
