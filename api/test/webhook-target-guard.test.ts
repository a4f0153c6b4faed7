import type { LookupAddress } from 'node:dns';
import fc from 'fast-check';
import {
  checkWebhookTarget,
  classifyAddress,
  guardedLookup,
  isAllowedAddress,
  parseWebhookUrl,
  WebhookTargetError,
  type AddressClass,
  type LookupAll,
} from '../webhooks/target-guard';

/** A resolver that answers `addresses` for any name. */
const answering =
  (...addresses: string[]): LookupAll =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

/** The WebhookTargetError `fn` rejects with (fails the test when it resolves or rejects with something else). */
async function targetError(fn: () => Promise<unknown>): Promise<WebhookTargetError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookTargetError);
    return err as WebhookTargetError;
  }
  throw new Error('expected a WebhookTargetError');
}

function parseError(raw: string): WebhookTargetError {
  try {
    parseWebhookUrl(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookTargetError);
    return err as WebhookTargetError;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe('an operator configures a webhook: where may it point?', () => {
  const table: Record<AddressClass, string[]> = {
    public: ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '172.15.255.255', '100.128.0.1', '192.169.0.1', '169.255.0.1',
      '223.255.255.255', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', 'fbff::1', 'fe00::1',
      '2002:808:808::1', '::ffff:0:808:808'],
    loopback: ['127.0.0.1', '127.255.255.254', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1',
      '::FFFF:7F00:1', '0:0:0:0:0:ffff:127.0.0.1', '64:ff9b::127.0.0.1', '64:ff9b::7f00:1',
      '2002:7f00:1::', '2002:7f00:1:1::5', '::ffff:0:7f00:1', '::ffff:0:127.0.0.1'],
    private: ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.255',
      '198.18.0.1', '198.19.255.255', '192.0.2.1', '198.51.100.7', '203.0.113.9', 'fc00::1', 'fd12:3456::1', 'FD00::1',
      '::ffff:10.0.0.1', '::ffff:a00:1', '64:ff9b::192.168.0.1', '2001:db8::1', '64:ff9b:1::a00:1', 'fec0::1', '2002:a00:1::1'],
    'link-local': ['169.254.0.1', '169.254.169.253', '169.254.255.255', 'fe80::1', 'febf::1', 'fe80::1%eth0', '::ffff:169.254.1.1'],
    metadata: ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe',
      '64:ff9b::169.254.169.254', '::ffff:100.100.100.200'],
    reserved: ['0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '::', '::0', 'ff02::1',
      'ff05::1:3', '::ffff:0.0.0.0', '::ffff:255.255.255.255', '::127.0.0.1', '::8.8.8.8',
      '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '192.0.0.192', '192.0.0.1',
      'localhost', 'example.com', '', '127.1', '0x7f000001', '1.2.3.4.5', '256.0.0.1', '[::1]', '::1::', '127.0.0.1%eth0'],
  };

  for (const [cls, addresses] of Object.entries(table)) {
    it(`classifies ${addresses.length} addresses as ${cls}`, () => {
      for (const ip of addresses) expect([ip, classifyAddress(ip)]).toEqual([ip, cls]);
    });
  }

  it('classifies any IPv4 address the same in its mapped, hex-mapped, translated, NAT64 and 6to4 IPv6 forms', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        const cls = classifyAddress(v4);
        const forms = [`::ffff:${v4}`, `::ffff:${hex}`, `::ffff:0:${hex}`, `64:ff9b::${hex}`, `2002:${hex}::1`];
        expect(forms.map(classifyAddress)).toEqual(forms.map(() => cls));
      }),
    );
  });

  it('allows public addresses always, loopback and private ones only when the operator says so, the rest never', () => {
    const allowed = (ip: string): [boolean, boolean] => [isAllowedAddress(ip, false), isAllowedAddress(ip, true)];
    expect(allowed('8.8.8.8')).toEqual([true, true]);
    expect(allowed('2606:4700:4700::1111')).toEqual([true, true]);
    expect(allowed('127.0.0.1')).toEqual([false, true]);
    expect(allowed('::ffff:7f00:1')).toEqual([false, true]);
    expect(allowed('10.1.2.3')).toEqual([false, true]);
    expect(allowed('fd12::1')).toEqual([false, true]);
    for (const never of ['169.254.1.1', 'fe80::1', '169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '0.0.0.0', '::', '224.0.0.1',
      '255.255.255.255', 'ff02::1', 'not-an-ip']) {
      expect([never, allowed(never)]).toEqual([never, [false, false]]);
    }
  });

  it('accepts http and https URLs and drops the fragment', () => {
    expect(parseWebhookUrl('https://hooks.example.com/sip?x=1#frag').href).toBe('https://hooks.example.com/sip?x=1');
    expect(parseWebhookUrl('http://[::1]:8080/h').hostname).toBe('[::1]');
    // WHATWG parsing already turns odd IPv4 spellings into the dotted form the guard checks.
    expect(parseWebhookUrl('http://0x7f000001/').hostname).toBe('127.0.0.1');
    expect(parseWebhookUrl('http://2130706433/').hostname).toBe('127.0.0.1');
  });

  it('refuses URLs that are malformed, too long, of another scheme or carrying credentials', () => {
    expect(parseError('not a url').code).toBe('invalid-url');
    expect(parseError('/relative/path').code).toBe('invalid-url');
    expect(parseError('http://').code).toBe('invalid-url');
    expect(parseError(`https://example.com/${'a'.repeat(2030)}`).code).toBe('invalid-url');
    expect(parseWebhookUrl(`https://example.com/${'a'.repeat(2028)}`).href).toHaveLength(2048);
    for (const raw of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'javascript:alert(1)', 'ws://example.com/']) {
      expect([raw, parseError(raw).code]).toEqual([raw, 'unsupported-scheme']);
    }
    expect(parseError('https://user:pw@example.com/').code).toBe('credentials-in-url');
    expect(parseError('https://user@example.com/').code).toBe('credentials-in-url');
    expect(parseError('https://:pw@example.com/').code).toBe('credentials-in-url');
    // The message must not repeat the password.
    expect(parseError('https://user:hunter2@example.com/').message).not.toContain('hunter2');
  });
});

describe('a webhook target is checked where its name resolves', () => {
  const url = new URL('https://hooks.example.com/sip');

  it('accepts a name that resolves to public addresses and returns them', async () => {
    await expect(checkWebhookTarget(url, { allowPrivate: false, lookup: answering('93.184.216.34', '2606:2800:220:1::1') })).resolves.toEqual([
      '93.184.216.34',
      '2606:2800:220:1::1',
    ]);
  });

  it('refuses a name that resolves to a private address unless private targets are allowed', async () => {
    const err = await targetError(() => checkWebhookTarget(url, { allowPrivate: false, lookup: answering('10.0.0.5') }));
    expect(err.code).toBe('refused-address');
    expect(err.message).toBe(
      'webhook target hooks.example.com resolves to 10.0.0.5, a private address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow loopback and private targets',
    );
    await expect(checkWebhookTarget(url, { allowPrivate: true, lookup: answering('10.0.0.5') })).resolves.toEqual(['10.0.0.5']);
  });

  it('refuses a name whose answers mix public and private addresses (a rebinding sign)', async () => {
    const err = await targetError(() => checkWebhookTarget(url, { allowPrivate: false, lookup: answering('93.184.216.34', '127.0.0.1') }));
    expect(err.code).toBe('refused-address');
    expect(err.message).toContain('127.0.0.1, a loopback address');
  });

  it('refuses a name resolving to the metadata service even when private targets are allowed', async () => {
    const err = await targetError(() => checkWebhookTarget(url, { allowPrivate: true, lookup: answering('10.0.0.5', '169.254.169.254') }));
    expect(err.code).toBe('refused-address');
    expect(err.message).toContain('169.254.169.254, a cloud metadata service address; metadata targets are never allowed');
  });

  it('calls a name that resolves to nothing, fails to resolve, or is too slow unresolvable', async () => {
    expect((await targetError(() => checkWebhookTarget(url, { allowPrivate: true, lookup: answering() }))).code).toBe('unresolvable');
    const failing: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.com'), { code: 'ENOTFOUND' });
    };
    const failed = await targetError(() => checkWebhookTarget(url, { allowPrivate: true, lookup: failing }));
    expect([failed.code, failed.message]).toEqual(['unresolvable', 'webhook target hooks.example.com could not be resolved (ENOTFOUND)']);
    const throwing: LookupAll = () => {
      throw new Error('synchronous failure');
    };
    expect((await targetError(() => checkWebhookTarget(url, { allowPrivate: true, lookup: throwing }))).code).toBe('unresolvable');
    const never: LookupAll = () => new Promise(() => undefined);
    const slow = await targetError(() => checkWebhookTarget(url, { allowPrivate: true, lookup: never, timeoutMs: 50 }));
    expect([slow.code, slow.message]).toEqual(['unresolvable', 'webhook target hooks.example.com did not resolve within 50 ms']);
  });

  it('checks IP-literal hosts without resolving them', async () => {
    const lookup = jest.fn(answering('8.8.8.8'));
    await expect(checkWebhookTarget(new URL('http://[::1]:8080/'), { allowPrivate: true, lookup })).resolves.toEqual(['::1']);
    const err = await targetError(() => checkWebhookTarget(new URL('http://[::ffff:127.0.0.1]/'), { allowPrivate: false, lookup }));
    expect(err.message).toBe(
      'webhook target ::ffff:7f00:1 is a loopback address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow loopback and private targets',
    );
    expect(lookup).not.toHaveBeenCalled();
  });

  it('refuses http://169.254.169.254/ even when private targets are allowed', async () => {
    const err = await targetError(() => checkWebhookTarget(parseWebhookUrl('http://169.254.169.254/latest/meta-data/'), { allowPrivate: true }));
    expect(err.code).toBe('refused-address');
    expect(err.message).toBe(
      'webhook target 169.254.169.254 is a cloud metadata service address; metadata targets are never allowed, whatever WEBHOOK_ALLOW_PRIVATE_TARGETS says',
    );
    const linkLocal = await targetError(() => checkWebhookTarget(parseWebhookUrl('http://[fe80::1]/'), { allowPrivate: true }));
    expect(linkLocal.message).toContain('link-local targets are never allowed');
  });

  it('with the system resolver, refuses localhost and 127.0.0.1 unless private targets are allowed', async () => {
    for (const raw of ['http://localhost:8080/hook', 'http://127.0.0.1:8080/hook']) {
      const err = await targetError(() => checkWebhookTarget(parseWebhookUrl(raw), { allowPrivate: false }));
      expect([raw, err.code]).toEqual([raw, 'refused-address']);
      expect(err.message).toContain('a loopback address');
      const addresses = await checkWebhookTarget(parseWebhookUrl(raw), { allowPrivate: true });
      expect(addresses.length).toBeGreaterThan(0);
      for (const a of addresses) expect(classifyAddress(a)).toBe('loopback');
    }
  });
});

describe('at delivery, the connection goes only to an address checked then (guardedLookup)', () => {
  type Answer = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
  const run = (lookup: ReturnType<typeof guardedLookup>, options: Parameters<ReturnType<typeof guardedLookup>>[1]): Promise<Answer> =>
    new Promise((resolve) => lookup('hooks.example.com', options, (err, address, family) => resolve({ err, address, family })));

  it('answers the first address, or all of them when node asks for all', async () => {
    const lookup = guardedLookup(false, answering('93.184.216.34', '2606:2800:220:1::1'));
    expect(await run(lookup, {})).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect(await run(lookup, { all: true })).toEqual({
      err: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
      family: undefined,
    });
    expect(await run(lookup, { family: 6 })).toEqual({ err: null, address: '2606:2800:220:1::1', family: 6 });
    expect(await run(lookup, { family: 'IPv6', all: true })).toMatchObject({ address: [{ address: '2606:2800:220:1::1', family: 6 }] });
  });

  it('refuses with EWEBHOOKREFUSED when any answer is not allowed, in either form', async () => {
    const lookup = guardedLookup(false, answering('93.184.216.34', '10.0.0.1'));
    for (const options of [{}, { all: true }]) {
      const { err } = await run(lookup, options);
      expect(err?.code).toBe('EWEBHOOKREFUSED');
      expect(err?.message).toBe(
        'webhook target hooks.example.com resolves to 10.0.0.1, a private address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow loopback and private targets',
      );
    }
    expect((await run(guardedLookup(true, answering('10.0.0.1')), {})).address).toBe('10.0.0.1');
    expect((await run(guardedLookup(true, answering('169.254.169.254')), {})).err?.code).toBe('EWEBHOOKREFUSED');
  });

  it('passes resolver failures on, and reports a name with no usable address', async () => {
    const failing: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.com'), { code: 'ENOTFOUND' });
    };
    expect((await run(guardedLookup(true, failing), {})).err?.code).toBe('ENOTFOUND');
    expect((await run(guardedLookup(true, answering()), { all: true })).err?.code).toBe('ENOTFOUND');
    expect((await run(guardedLookup(true, answering('8.8.8.8')), { family: 6 })).err?.code).toBe('ENOTFOUND');
    const throwing: LookupAll = () => {
      throw new Error('synchronous failure');
    };
    expect((await run(guardedLookup(true, throwing), {})).err?.message).toBe('synchronous failure');
  });
});
