import fc from 'fast-check';
import { Binding, decodeBinding, encodeBinding, RegistrationStore } from '../registration-store';
import { clearPrefix, testKeyPrefix, testRedis } from '../testing/redis';

function binding(id: string, expiresAt: number, extra: Partial<Binding> = {}): Binding {
  return {
    id, uri: `sip:${id}@192.0.2.1:5060`, params: '', expiresAt, callId: 'call-1', cseq: 1,
    sourceAddress: '192.0.2.1', sourcePort: 5060, transport: 'udp', receivedOn: '127.0.0.1:5060',
    userAgent: 'Test/1.0', registeredAt: 1_000, ...extra,
  };
}

describe('stored form of a binding (pure)', () => {
  it('reads back exactly the params it was given, wherever (and however often) they quote the instance', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ';', '=', '"', '<', '>', '\\', 'é', '+sip.instance=', '"<urn:x>"'), maxLength: 12 });
    fc.assert(fc.property(text, text, fc.boolean(), fc.option(fc.nat(9), { nil: undefined }), (before, after, quote, regId) => {
      const instance = '<urn:x>';
      const params = quote ? `${before}"${instance}"${after}` : before + after;
      const plain = `;+sip.instance="${instance}"${regId === undefined ? '' : `;reg-id=${regId}`}`;
      for (const p of [params, plain]) {
        const b = binding(`${instance}|${regId ?? ''}`, 1_700_000_060_000, { instance, regId, params: p });
        expect(decodeBinding(b.id, encodeBinding(b))).toEqual(b);
      }
    }));
  });
});

describe('registration store (real Redis)', () => {
  const redis = testRedis();
  const prefix = testKeyPrefix();
  let now = 1_700_000_000_000;
  const store = new RegistrationStore(redis, { prefix, now: () => now });
  const source = { ipAddress: '192.0.2.1', port: 5060, transport: 'udp', userAgent: 'Test/1.0' };

  afterAll(async () => {
    await clearPrefix(redis, prefix);
    redis.disconnect();
  });

  it('reports a device that never registered as pending', async () => {
    const status = await store.getStatus('dev_sip_never');
    expect(status).toMatchObject({ registrationStatus: 'pending', lastRegistration: null, ipAddress: null });
  });

  it('commits bindings atomically and derives registered, then unregistered once they expire', async () => {
    const snap = await store.load('dev_sip_a');
    expect(snap).toEqual({ version: 0, bindings: [] });
    const result = await store.commit('dev_sip_a', 0, { upserts: [binding('c1', now + 60_000)], removals: [], source });
    expect(result.ok).toBe(true);
    const status = await store.getStatus('dev_sip_a');
    expect(status.registrationStatus).toBe('registered');
    expect(status.ipAddress).toBe('192.0.2.1');
    expect(status.lastRegistration).toBe(new Date(now).toISOString());
    now += 61_000;
    expect((await store.getStatus('dev_sip_a')).registrationStatus).toBe('unregistered');
    expect(await store.listBindings('dev_sip_a')).toEqual([]);
  });

  it('rejects a commit made against a stale version and changes nothing', async () => {
    const first = await store.commit('dev_sip_b', 0, { upserts: [binding('c1', now + 60_000)], removals: [], source });
    expect(first.ok).toBe(true);
    const stale = await store.commit('dev_sip_b', 0, { upserts: [binding('c2', now + 60_000)], removals: [], source });
    expect(stale).toEqual({ ok: false, reason: 'conflict' });
    expect((await store.listBindings('dev_sip_b')).map((b) => b.id)).toEqual(['c1']);
  });

  it('reads expiries only from the key itself, and drops a corrupted binding instead of failing', async () => {
    // Contact parameters that spell the key (stored before the real one) are not taken for the expiry.
    const tricky = binding('c1', now + 60_000, { params: ';x="expiresAt":1;y={"expiresAt":2}' });
    expect((await store.commit('dev_sip_d', 0, { upserts: [tricky], removals: [], source })).ok).toBe(true);
    await redis.hset(store.keys.bindings('dev_sip_d'), 'junk', 'not json', 'old', '{"id":"old","expiresAt":1}');
    const result = await store.commit('dev_sip_d', 1, { upserts: [binding('c2', now + 30_000)], removals: [], source });
    expect(result.ok && result.bindings.map((b) => b.id).sort()).toEqual(['c1', 'c2']);
    expect((await redis.hkeys(store.keys.bindings('dev_sip_d'))).sort()).toEqual(['c1', 'c2']);
    expect(Number(await redis.hget(store.keys.status('dev_sip_d'), 'exp'))).toBe(now + 60_000);
  });

  it('stores a binding compactly (no id, instance or reg-id repeated, short names) and reads back the same binding', async () => {
    const instance = '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>';
    const full = binding(`${instance}|1`, now + 60_000, {
      uri: 'sip:1001@192.0.2.23:5060;transport=udp;ob', params: `;+sip.instance="${instance}";reg-id=1`,
      instance, regId: 1, path: ['<sip:proxy.example.net;lr>'], q: 0.5,
    });
    const withQ = binding(`${instance}|2`, now + 60_000, { instance, regId: 2, params: `;q=0.5;+sip.instance="${instance}";reg-id=2` });
    const noRegId = binding(`${instance}|`, now + 60_000, { instance, userAgent: '', params: ';+sip.instance="x"' });
    const plain = binding('sip:c3@192.0.2.1:5060', now + 60_000);
    // Instance and reg-id are read back from the id: a binding whose id does not spell them is refused, nothing written.
    const odd = binding('other-id', now + 60_000, { instance: '<urn:x>', regId: 7 });
    await expect(store.commit('dev_sip_compact', 0, { upserts: [full, odd], removals: [], source })).rejects.toThrow(/does not carry its instance id/);
    expect(await redis.exists(store.keys.bindings('dev_sip_compact'))).toBe(0);
    expect((await store.commit('dev_sip_compact', 0, { upserts: [full, withQ, noRegId, plain], removals: [], source })).ok).toBe(true);
    const raw = await redis.hgetall(store.keys.bindings('dev_sip_compact'));
    for (const b of [full, withQ, noRegId, plain]) {
      const stored = JSON.parse(raw[b.id]!) as Record<string, unknown>;
      for (const long of ['id', 'instance', 'regId', 'uri', 'callId', 'sourceAddress', 'receivedOn', 'registeredAt']) expect(stored).not.toHaveProperty(long);
      expect(raw[b.id]!.length).toBeLessThan(JSON.stringify(b).length);
      expect(decodeBinding(b.id, raw[b.id]!)).toEqual(b);
    }
    // The registrar's RFC 5626 ids spell instance and reg-id: only a marker is stored for them,
    // and the instance the Contact's params quote is cut out of them (put back on reading);
    // params that are only instance and reg-id are not stored at all.
    expect(JSON.parse(raw[full.id]!)).toMatchObject({ i: 2 });
    expect(JSON.parse(raw[full.id]!)).not.toHaveProperty('p');
    expect(JSON.parse(raw[withQ.id]!)).toMatchObject({ i: 1, p: ';q=0.5;+sip.instance=;reg-id=2', n: 21 });
    expect(JSON.parse(raw[withQ.id]!).p).not.toContain(instance);
    expect(JSON.parse(raw[noRegId.id]!)).toMatchObject({ i: 1, p: ';+sip.instance="x"' }); // its params quote another instance
    expect(JSON.parse(raw[noRegId.id]!)).not.toHaveProperty('n');
    const byId = (list: Binding[]) => Object.fromEntries(list.map((b) => [b.id, b]));
    expect(byId(await store.listBindings('dev_sip_compact'))).toEqual(byId([full, withQ, noRegId, plain]));
    expect(byId((await store.load('dev_sip_compact')).bindings)).toEqual(byId([full, withQ, noRegId, plain]));
    expect(encodeBinding(plain)).toBe(raw[plain.id]);
  });

  it('still reads bindings stored whole, with their id, by an earlier version', async () => {
    const old = binding('sip:old@192.0.2.9:5060', now + 60_000, { instance: '<urn:old>', regId: 2, path: ['<sip:p;lr>'] });
    await redis.hset(store.keys.bindings('dev_sip_legacy'), old.id, JSON.stringify(old));
    expect(await store.listBindings('dev_sip_legacy')).toEqual([old]);
    expect((await store.load('dev_sip_legacy')).bindings).toEqual([old]);
    const added = binding('sip:new@192.0.2.9:5060', now + 30_000);
    const result = await store.commit('dev_sip_legacy', 0, { upserts: [added], removals: [], source });
    expect(result.ok && result.bindings.map((b) => b.id).sort()).toEqual([old.id, added.id].sort());
    expect(Number(await redis.hget(store.keys.status('dev_sip_legacy'), 'exp'))).toBe(now + 60_000);
    now += 45_000; // the new one expires first; the reaper drops it and keeps the old one
    const reaped = await store.reapExpired(100);
    expect(reaped.map((r) => r.binding.id)).toContain(added.id);
    expect(await store.listBindings('dev_sip_legacy')).toEqual([old]);
  });

  it('lists many statuses in one call', async () => {
    const map = await store.getStatuses(['dev_sip_b', 'dev_sip_never']);
    expect(map.get('dev_sip_b')?.registrationStatus).toBe('registered');
    expect(map.get('dev_sip_never')?.registrationStatus).toBe('pending');
  });

  it('writes the reaper index along with a commit', async () => {
    const result = await store.commit('dev_sip_f', 0, { upserts: [binding('c1', now + 60_000)], removals: [], source });
    expect(result.ok).toBe(true);
    await (result.ok && result.indexed);
    expect(Number(await redis.zscore(store.keys.expiryIndex, 'dev_sip_f'))).toBe(now + 60_000);
  });

  it('keeps the last failure until a successful REGISTER commits', async () => {
    await store.recordFailure('dev_sip_lf', { at: now, reason: 'wrong_password', sourceIp: '192.0.2.7' });
    expect((await store.getStatus('dev_sip_lf')).lastFailure).toEqual({ at: new Date(now).toISOString(), reason: 'wrong_password', sourceIp: '192.0.2.7' });
    expect((await store.getStatus('dev_sip_lf')).registrationStatus).toBe('pending');
    // A commit that is not a REGISTER's success (the reaper, the API) leaves it.
    await store.commit('dev_sip_lf', 0, { upserts: [binding('c1', now + 60_000)], removals: [], source });
    expect((await store.getStatus('dev_sip_lf')).lastFailure?.reason).toBe('wrong_password');
    await store.commit('dev_sip_lf', 1, { upserts: [binding('c1', now + 60_000)], removals: [], source, succeeded: true });
    expect((await store.getStatus('dev_sip_lf')).lastFailure).toBeNull();
    await store.recordFailure('dev_sip_lf', { at: now, reason: 'nonce_replay', sourceIp: '192.0.2.7' });
    await store.clearFailure('dev_sip_lf');
    expect((await store.getStatuses(['dev_sip_lf'])).get('dev_sip_lf')?.lastFailure).toBeNull();
    for (const bad of ['{"at":"not a number"}', JSON.stringify({ at: now, reason: 'x' }), JSON.stringify({ at: now, ip: '192.0.2.7' }), 'not json']) {
      await redis.hset(store.keys.status('dev_sip_lf'), 'lf', bad);
      expect([bad, (await store.getStatus('dev_sip_lf')).lastFailure]).toEqual([bad, null]); // unreadable: not shown
    }
  });

  it('reaps expired bindings and returns them (for their expired events)', async () => {
    await store.commit('dev_sip_c', 0, { upserts: [binding('c1', now + 1_000), binding('c2', now + 100_000)], removals: [], source });
    now += 2_000;
    const reaped = await store.reapExpired();
    expect(reaped.filter((r) => r.deviceId === 'dev_sip_c').map((r) => r.binding.id)).toEqual(['c1']);
    expect((await store.listBindings('dev_sip_c')).map((b) => b.id)).toEqual(['c2']);
    // Removed from Redis, not only hidden on read; the reaper index now points at c2's expiry.
    expect(await redis.hkeys(store.keys.bindings('dev_sip_c'))).toEqual(['c2']);
    expect(Number(await redis.zscore(store.keys.expiryIndex, 'dev_sip_c'))).toBe(now - 2_000 + 100_000);
    expect((await store.reapExpired()).filter((r) => r.deviceId === 'dev_sip_c')).toEqual([]); // reaped once
  });

  it('removes all bindings on an admin kick and forgets a deleted device', async () => {
    expect((await store.removeBindings('dev_sip_c')).map((b) => b.id)).toEqual(['c2']);
    expect((await store.getStatus('dev_sip_c')).registrationStatus).toBe('unregistered');
    await store.forgetDevice('dev_sip_c');
    expect((await store.getStatus('dev_sip_c')).registrationStatus).toBe('pending');
  });

  it('accepts increasing nonce counts only, per nonce (replay protection)', async () => {
    const load = (value: string, issuedAt: number, nc: number) =>
      store.loadAuthenticated('dev_sip_nc', { value, issuedAt, nc, lifetimeMs: 300_000 });
    expect((await load('n1', now, 1)).replay).toBe(false);
    expect((await load('n1', now, 1)).replay).toBe(true);
    expect((await load('n1', now, 2)).replay).toBe(false);
    expect((await load('n2', now, 1)).replay).toBe(false);
    // Each nonce keeps its own count: the first one's old count is still a replay.
    expect((await load('n1', now, 2)).replay).toBe(true);
    expect((await load('n1', now, 3)).replay).toBe(false);
    const snapshot = await load('n3', now, 1);
    expect(snapshot).toMatchObject({ replay: false, version: 0, bindings: [] });
    expect(await redis.pttl(store.keys.nonces('dev_sip_nc'))).toBeGreaterThan(290_000);
  });

  it('keeps the newest nonces only, and refuses unknown nonces older than the evicted ones', async () => {
    const load = (value: string, issuedAt: number, nc: number) =>
      store.loadAuthenticated('dev_sip_evict', { value, issuedAt, nc, lifetimeMs: 300_000 });
    const keptAfter = async () => (await redis.hkeys(store.keys.nonces('dev_sip_evict'))).filter((k) => k !== '_floor');
    for (let i = 1; i <= 8; i++) expect((await load(`n${i}`, now + i, 1)).replay).toBe(false);
    expect(await keptAfter()).toHaveLength(8); // twice NONCES_KEPT (4)
    // One more: evicted in one batch down to the 4 newest.
    expect((await load('n9', now + 9, 1)).replay).toBe(false);
    expect((await keptAfter()).sort()).toEqual(['n6', 'n7', 'n8', 'n9']);
    // With the floor recorded, the same bounds: 8 kept, the 9th prunes again.
    for (let i = 10; i <= 13; i++) expect((await load(`n${i}`, now + i, 1)).replay).toBe(false);
    expect(await keptAfter()).toHaveLength(8);
    expect((await load('n14', now + 14, 1)).replay).toBe(false);
    expect((await keptAfter()).sort()).toEqual(['n11', 'n12', 'n13', 'n14']);
    // A kept nonce still counts, an evicted one cannot be replayed, even with a count it never used...
    expect((await load('n11', now + 11, 1)).replay).toBe(true);
    expect((await load('n11', now + 11, 2)).replay).toBe(false);
    expect((await load('n3', now + 3, 5)).replay).toBe(true);
    expect((await load('n10', now + 10, 5)).replay).toBe(true);
    // ...nor can an unknown nonce issued before the newest evicted one; a newer one is fine.
    expect((await load('old', now + 10, 1)).replay).toBe(true);
    expect((await load('new', now + 15, 1)).replay).toBe(false);
  });

  it('delivers invalidations to subscribers', async () => {
    const sub = testRedis();
    const got = new Promise((resolve) => store.subscribeInvalidations(sub, resolve));
    await new Promise((r) => setTimeout(r, 50));
    await store.publishInvalidation({ deviceId: 'dev_sip_x', sipUsername: 'alice', sipDomain: 'example.com' });
    await expect(got).resolves.toEqual({ deviceId: 'dev_sip_x', sipUsername: 'alice', sipDomain: 'example.com' });
    sub.disconnect();
  });
});
