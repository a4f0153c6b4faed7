import { ha1Md5, ha1Sha256 } from '../credentials';
import {
  buildChallenges,
  expectedResponse,
  ha2Of,
  NonceService,
  parseAuthorization,
  parseNonceCount,
  responsesMatch,
  usesQopAuth,
  verifyResponse,
} from '../digest';

describe('digest (RFC 7616 / RFC 8760)', () => {
  // RFC 7616 §3.9.1: the worked example, MD5 and SHA-256.
  const rfc7616 = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: 'Circle of Life',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  };

  function rfcHeader(algorithm: 'MD5' | 'SHA-256', response: string): string {
    const r = rfc7616;
    return `Digest username="${r.username}", realm="${r.realm}", uri="${r.uri}", algorithm=${algorithm}, nonce="${r.nonce}", nc=00000001, cnonce="${r.cnonce}", qop=auth, response="${response}", opaque="${r.opaque}"`;
  }

  it('reproduces the RFC 7616 §3.9.1 MD5 response', () => {
    const [cred] = parseAuthorization(rfcHeader('MD5', '8ca523f5e9506fed4657c9700eebdbec'));
    const ha1 = ha1Md5(rfc7616.username, rfc7616.realm, rfc7616.password);
    expect(expectedResponse(cred!, ha1, ha2Of(cred!, 'GET'))).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(verifyResponse(cred!, [ha1], 'GET')).toBe(true);
  });

  it('reproduces the RFC 7616 §3.9.1 SHA-256 response', () => {
    const [cred] = parseAuthorization(rfcHeader('SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'));
    expect(cred!.algorithm).toBe('SHA-256');
    const ha1 = ha1Sha256(rfc7616.username, rfc7616.realm, rfc7616.password);
    expect(verifyResponse(cred!, [ha1], 'GET')).toBe(true);
    expect(verifyResponse(cred!, [ha1Sha256('Mufasa', rfc7616.realm, 'wrong')], 'GET')).toBe(false);
  });

  it('reproduces the RFC 2617 §3.5 example (qop=auth, MD5)', () => {
    const [cred] = parseAuthorization(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    expect(verifyResponse(cred!, [ha1Md5('Mufasa', 'testrealm@host.com', 'Circle Of Life')], 'GET')).toBe(true);
  });

  it('verifies what a real client (SIPp 3.6.1) sent for REGISTER', () => {
    const header =
      'Digest username="alice",realm="sip.example.com",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:sip.example.com",nonce="AYzv6k1AAAAAAAAAAAAAAAAAAAAAAAAA",response="bf70eade6b99b29cfd76915f72a878c9",algorithm=MD5,opaque="op"';
    const [cred] = parseAuthorization(header);
    expect(cred).toMatchObject({ username: 'alice', realm: 'sip.example.com', uri: 'sip:sip.example.com', nc: '00000001', qop: 'auth' });
    expect(verifyResponse(cred!, [ha1Md5('alice', 'sip.example.com', 'secret')], 'REGISTER')).toBe(true);
    expect(verifyResponse(cred!, [ha1Md5('alice', 'sip.example.com', 'secret')], 'INVITE')).toBe(false);
  });

  it('accepts the previous HA1 among the candidates (password reset grace period)', () => {
    const [cred] = parseAuthorization(rfcHeader('MD5', '8ca523f5e9506fed4657c9700eebdbec'));
    const old = ha1Md5(rfc7616.username, rfc7616.realm, rfc7616.password);
    const current = ha1Md5(rfc7616.username, rfc7616.realm, 'new password');
    expect(verifyResponse(cred!, [current, old], 'GET')).toBe(true);
    expect(verifyResponse(cred!, [current], 'GET')).toBe(false);
  });

  it('splits several credentials that drachtio-srf joined with commas and skips unknown algorithms', () => {
    const both = `${rfcHeader('MD5', 'aa')}, Digest username="x", realm="r", nonce="n", uri="sip:r", response="bb", algorithm=SHA-512-256`;
    const creds = parseAuthorization(both);
    expect(creds).toHaveLength(1);
    expect(creds[0]!.username).toBe('Mufasa');
    expect(parseAuthorization('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toEqual([]);
    expect(parseAuthorization('Digest username="a", realm="r"')).toEqual([]);
    expect(parseAuthorization('Digest username="a, realm=')).toEqual([]);
  });

  it('does not split credentials at a comma inside a quoted string, and keeps other schemes apart', () => {
    const quoted = rfcHeader('MD5', '8ca523f5e9506fed4657c9700eebdbec').replace(`cnonce="${rfc7616.cnonce}"`, 'cnonce="x, Digest y"');
    const [cred] = parseAuthorization(quoted);
    expect(cred).toMatchObject({ username: 'Mufasa', cnonce: 'x, Digest y', nc: '00000001' });
    const mixed = parseAuthorization(`Basic QWxh, Digest username="b, c", realm="r", nonce="n", uri="sip:r", response="AB", Other k=v, x=y`);
    expect(mixed).toEqual([{ username: 'b, c', realm: 'r', nonce: 'n', uri: 'sip:r', response: 'ab', algorithm: 'MD5' }]);
  });

  it('hashes qop as the client sent it, compared case-insensitively (RFC 7616 §3.4.1)', () => {
    const ha1 = ha1Md5(rfc7616.username, rfc7616.realm, rfc7616.password);
    const [upper] = parseAuthorization(rfcHeader('MD5', 'aa').replace('qop=auth', 'qop=AUTH'));
    const response = expectedResponse(upper!, ha1, ha2Of(upper!, 'GET'));
    const [cred] = parseAuthorization(rfcHeader('MD5', response).replace('qop=auth', 'qop=AUTH'));
    expect(cred!.qop).toBe('AUTH');
    expect(usesQopAuth(cred!)).toBe(true);
    expect(verifyResponse(cred!, [ha1], 'GET')).toBe(true);
    // The same answer computed over "auth" is another response.
    expect(response).not.toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('matches only hex responses (no character reduced to its low byte)', () => {
    expect(responsesMatch('ab', 'ab')).toBe(true);
    expect(responsesMatch('ab', '\u0161b')).toBe(false);
    expect(responsesMatch('ab', 'a')).toBe(false);
  });

  it('reads the nonce-count as 8 hex digits only', () => {
    expect(parseNonceCount('00000001')).toBe(1);
    expect(parseNonceCount('0000000a')).toBe(10);
    expect(parseNonceCount('1')).toBeNull();
    expect(parseNonceCount(undefined)).toBeNull();
  });

  describe('stateless nonces', () => {
    const nonces = new NonceService('a test secret of enough length', 300_000);
    const t0 = 1_700_000_000_000;

    it('verifies its own nonces for the realm they were issued for', () => {
      const n = nonces.issue('example.com', t0);
      expect(nonces.check(n, 'example.com', t0 + 1_000)).toEqual({ ok: true, issuedAt: t0 });
      expect(nonces.check(n, 'other.example.com', t0)).toMatchObject({ ok: false, reason: 'forged' });
    });

    it('reports an old nonce as expired (stale) and a tampered one as forged', () => {
      const n = nonces.issue('example.com', t0);
      expect(nonces.check(n, 'example.com', t0 + 300_001)).toMatchObject({ ok: false, reason: 'expired' });
      const tampered = (n[0] === 'A' ? 'B' : 'A') + n.slice(1);
      expect(nonces.check(tampered, 'example.com', t0)).toMatchObject({ ok: false, reason: 'forged' });
      expect(nonces.check('short', 'example.com', t0)).toMatchObject({ ok: false, reason: 'malformed' });
    });

    it('issues different nonces in the same millisecond (each has its own nonce-count)', () => {
      expect(nonces.issue('example.com', t0)).not.toBe(nonces.issue('example.com', t0));
      // Across several refills of the random pool (4 KiB, 6 bytes per nonce): all distinct, all valid.
      const many = Array.from({ length: 3_000 }, () => nonces.issue('example.com', t0));
      expect(new Set(many).size).toBe(many.length);
      expect(new Set(many.map((n) => Buffer.from(n, 'base64url').subarray(6, 12).toString('hex'))).size).toBe(many.length);
      expect(many.every((n) => nonces.check(n, 'example.com', t0).ok)).toBe(true);
    });

    it('does not accept nonces of another secret', () => {
      const other = new NonceService('another secret, also long enough', 300_000);
      expect(nonces.check(other.issue('example.com', t0), 'example.com', t0)).toMatchObject({ ok: false, reason: 'forged' });
    });
  });

  it('challenges with SHA-256 first, then MD5, qop="auth" and an opaque; MD5 alone when asked', () => {
    const both = buildChallenges({ realm: 'example.com', nonce: 'N', opaque: 'O', stale: false, md5Only: false });
    expect(both).toEqual([
      'Digest realm="example.com", nonce="N", opaque="O", algorithm=SHA-256, qop="auth"',
      'Digest realm="example.com", nonce="N", opaque="O", algorithm=MD5, qop="auth"',
    ]);
    const stale = buildChallenges({ realm: 'example.com', nonce: 'N', opaque: 'O', stale: true, md5Only: true });
    expect(stale).toEqual(['Digest realm="example.com", nonce="N", opaque="O", algorithm=MD5, qop="auth", stale=true']);
  });
});
