import net from 'node:net';
import { coalesceWrites } from '../coalesce-writes';

/** Over a real loopback TCP connection. */
describe('coalesceWrites', () => {
  it('holds the writes of one event-loop turn and sends them together, in order, at setImmediate', async () => {
    const chunks: string[] = [];
    let serverSide: net.Socket | undefined;
    const server = net.createServer((s) => {
      serverSide = s;
      s.on('data', (d: Buffer) => chunks.push(d.toString()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', r));
    coalesceWrites(client);
    coalesceWrites(client); // a second call changes nothing

    client.write('one;');
    expect(client.writableCorked).toBe(1);
    client.write('two;');
    client.write('three;');
    expect(client.writableCorked).toBe(1);
    expect(client.writableLength).toBe('one;two;three;'.length); // nothing left yet
    await new Promise((r) => setImmediate(r));
    expect(client.writableCorked).toBe(0);
    for (let i = 0; i < 100 && chunks.join('').length < 14; i++) await new Promise((r) => setTimeout(r, 10));
    expect(chunks.join('')).toBe('one;two;three;');

    // The next turn corks again.
    client.write('four;');
    expect(client.writableCorked).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(client.writableCorked).toBe(0);
    for (let i = 0; i < 100 && !chunks.join('').endsWith('four;'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(chunks.join('')).toBe('one;two;three;four;');

    client.destroy();
    serverSide?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
