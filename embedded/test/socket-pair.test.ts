import { socketPair } from '../socket-pair';

/** The in-memory stand-in for the engine connection: pure stream behaviour, no services. */
describe('socketPair', () => {
  const read = (s: NodeJS.ReadableStream, until: number): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.length >= until) resolve(got);
      });
    });

  it('carries bytes both ways, in order, including writes corked into one batch', async () => {
    const [a, b] = socketPair();
    const atB = read(b, 9);
    const atA = read(a, 5);
    a.write('one');
    a.cork();
    a.write('two');
    a.write('six');
    a.uncork();
    b.write('hello');
    expect(await atB).toBe('onetwosix');
    expect(await atA).toBe('hello');
  });

  it('never delivers inside the writer\'s own call', () => {
    const [a, b] = socketPair();
    let delivered = false;
    b.on('data', () => (delivered = true));
    a.write('x');
    expect(delivered).toBe(false);
  });

  it('emits connect on the client end, and ends or destroys the peer with it', async () => {
    const [a, b] = socketPair();
    await new Promise((resolve) => a.once('connect', resolve));
    b.resume();
    const ended = new Promise((resolve) => b.once('end', resolve));
    a.end();
    await ended;

    const [c, d] = socketPair();
    const closed = new Promise((resolve) => d.once('close', resolve));
    c.destroy();
    await closed;
    expect(d.destroyed).toBe(true);
  });

  it('looks like a socket to its users: address fields, no-op socket options, distinct ports per pair', () => {
    const [a, b] = socketPair();
    const [c] = socketPair();
    expect(a.setNoDelay()).toBe(a);
    expect(a.setKeepAlive()).toBe(a);
    expect(a.inProcess).toBe(true);
    expect(a.remotePort).toBe(b.localPort);
    expect(b.remotePort).toBe(a.localPort);
    expect(new Set([a.localPort, b.localPort, c.localPort, c.remotePort]).size).toBe(4);
  });
});
