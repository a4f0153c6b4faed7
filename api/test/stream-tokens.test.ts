import { mintStreamToken, verifyStreamToken } from '../events/stream-tokens';

const secret = 's'.repeat(40);
const grant = { accountId: 'acc_1', keyId: 'key_1', operator: false, expiresAt: 2_000 };

describe('event-stream tokens', () => {
  it('carry their grant until they expire', () => {
    const token = mintStreamToken(secret, grant);
    expect(token).toMatch(/^st_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyStreamToken(secret, token, 1_999)).toEqual(grant);
    expect(verifyStreamToken(secret, token, 2_000)).toBeNull();
    expect(verifyStreamToken(secret, mintStreamToken(secret, { ...grant, operator: true }), 0)?.operator).toBe(true);
  });

  it('refuse another secret, a changed payload or signature, and garbage', () => {
    const token = mintStreamToken(secret, grant);
    expect(verifyStreamToken('t'.repeat(40), token, 0)).toBeNull();
    const [payload, sig] = token.slice(3).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify(['acc_2', 'key_1', 0, 2_000])).toString('base64url');
    expect(verifyStreamToken(secret, `st_${forged}.${sig}`, 0)).toBeNull();
    expect(verifyStreamToken(secret, `st_${payload}.${sig.slice(1)}`, 0)).toBeNull();
    for (const t of ['', 'st_', 'st_.', 'st_a.b', `sk_${payload}.${sig}`, 'st_' + 'a'.repeat(600)]) expect(verifyStreamToken(secret, t, 0)).toBeNull();
    // Well signed but not a grant: still refused.
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const odd = Buffer.from(JSON.stringify({ accountId: 'acc_1' })).toString('base64url');
    const oddSig = createHmac('sha256', secret).update(`stream-token:${odd}`).digest('base64url');
    expect(verifyStreamToken(secret, `st_${odd}.${oddSig}`, 0)).toBeNull();
  });
});
