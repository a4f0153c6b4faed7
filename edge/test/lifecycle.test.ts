import tls from 'node:tls';
import { testEdge, selfSignedCert, StreamClient, sipRequest, scrape, metric } from './support';

describe('edge lifecycle and TLS', () => {
  const cert = selfSignedCert();

  it('takes PEM text for TLS, speaks TLS 1.2 and 1.3 only, and stops twice without harm', async () => {
    const edge = await testEdge({ tls: { cert: cert.cert, key: cert.key } });
    try {
      expect(edge.addresses.udp.port).toBe(edge.addresses.tcp.port);
      expect(edge.addresses.tls!.port).toBeGreaterThan(0);
      const client = await StreamClient.tls(edge);
      expect((client.socket as tls.TLSSocket).getProtocol()).toMatch(/^TLSv1\.[23]$/);
      client.send(sipRequest({ transport: 'TLS', port: client.localPort }));
      await client.waitFor(/^SIP\/2\.0 503/); // no app connected
      client.close();
      const old = tls.connect({ port: edge.addresses.tls!.port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      await expect(new Promise((resolve, reject) => (old.once('secureConnect', resolve), old.once('error', reject)))).rejects.toThrow();
      old.destroy();
      expect(metric(await scrape(edge), 'edge_sip_messages_sent_total{transport="tls",method="REGISTER",status="503"}')).toBe(1);
    } finally {
      await edge.stop();
      await edge.stop();
    }
  });

  it('refuses to start without a secret', async () => {
    await expect(testEdge({ secret: '' })).rejects.toThrow(/secret/);
  });
});
