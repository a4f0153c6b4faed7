import { Phone, SipClient, Stack, startStack } from './support';
import { readFileSync } from 'node:fs';

describe('a phone registering over TLS', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ tls: true });
    await stack.addDevice({ id: 'dev_sip_tina', username: 'tina', password: 'tina-secret-1' });
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('registers with digest over TLS; the binding and the device status record tls', async () => {
    const ca = readFileSync(stack.tlsCertPath!, 'utf8');
    const client = await SipClient.tls(stack.tls!, ca);
    try {
      const phone = new Phone(client, 'tina', 'tina-secret-1');
      const { challenge, final } = await phone.register();
      expect(challenge?.status).toBe(401);
      expect(final?.status).toBe(200);
      expect(final!.get('contact')).toBe(`${phone.contact};expires=3600`);
      const [binding] = await stack.store.listBindings('dev_sip_tina');
      expect(binding).toMatchObject({ transport: 'tls', sourcePort: client.localPort });
      expect((await stack.store.getStatus('dev_sip_tina')).transport).toBe('tls');
    } finally {
      client.close();
    }
  });
});
