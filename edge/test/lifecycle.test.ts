import tls from 'node:tls';
import { selfSignedCert } from '../../shared/testing/tls';
import { connectApp, ControlClient, metric, scrape, SECRET, sipRequest, SrfApp, StreamClient, testEdge, UdpClient, until } from './support';

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
      // A TLS 1.1 client is refused. Node 20's own minimum is TLS 1.2 too, so this also holds
      // without the edge's minVersion: it checks the behaviour, not that setting.
      const old = tls.connect({ port: edge.addresses.tls!.port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      await expect(new Promise((resolve, reject) => (old.once('secureConnect', resolve), old.once('error', reject)))).rejects.toThrow();
      old.destroy();
      expect(metric(await scrape(edge), 'edge_sip_messages_sent_total{transport="tls",method="REGISTER",status="503"}')).toBe(1);
    } finally {
      await edge.stop();
      await edge.stop();
    }
  });

  it('serves the control port over TLS to a drachtio-srf app', async () => {
    const edge = await testEdge({ controlTls: { cert: cert.certPath, key: cert.keyPath } });
    let srf: SrfApp | undefined;
    const client = await UdpClient.open();
    try {
      const plain = await ControlClient.open(edge);
      plain.send(`authenticate|${SECRET}|`);
      await until(() => plain.closed, 2000, 'plain TCP refused on the TLS control port');
      expect(plain.frames).toEqual([]);
      srf = await connectApp(edge, (app) => app.register((_req, res) => res.send(200)), SECRET, { tls: true });
      expect(metric(await scrape(edge), 'edge_control_apps_connected')).toBe(1);
      client.send(edge, sipRequest({ port: client.port }));
      await client.waitFor(/^SIP\/2\.0 200/);
    } finally {
      client.close();
      srf?.disconnect();
      await edge.stop();
    }
  });

  it('refuses to start without a secret', async () => {
    await expect(testEdge({ secret: '' })).rejects.toThrow(/secret/);
  });
});
