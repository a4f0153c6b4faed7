import dgram from 'node:dgram';
import pino from 'pino';
import type { DatagramChannel } from '../transaction/reply-channel';
import { UdpTransport } from '../transport/udp-transport';
import { until } from './support';

describe('UDP transport', () => {
  it('binds to a host name as well as to an address, answers the source, and again through a channel made from its origin', async () => {
    const seen: DatagramChannel[] = [];
    // A host name goes through dns.lookup; the replies go to address literals, which skip it.
    const transport = await UdpTransport.bind('localhost', 0, '127.0.0.1', pino({ level: 'silent' }), (data, channel) => {
      seen.push(channel);
      channel.send(Buffer.concat([Buffer.from('re:'), data]));
    });
    const client = dgram.createSocket('udp4');
    const got: string[] = [];
    client.on('message', (m) => got.push(m.toString('latin1')));
    try {
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
      expect(transport.address.address).toBe('127.0.0.1');
      client.send('ping', transport.address.port, '127.0.0.1');
      await until(() => got.includes('re:ping'), 3000, 'the reply');
      const channel = seen[0]!;
      expect(channel).toMatchObject({ reliable: false, remoteAddress: '127.0.0.1', wireAddress: '127.0.0.1', remotePort: client.address().port });
      // What a completed transaction does for a retransmission (completed-table.ts).
      expect(channel.origin.reopen(channel.wireAddress, channel.remotePort).send(Buffer.from('again'))).toBe(true);
      await until(() => got.includes('again'), 3000, 'the reply through a re-made channel');
    } finally {
      client.close();
      await transport.close();
    }
  });
});
