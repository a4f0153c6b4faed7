import { deviceBody, Harness, startHarness } from './helpers/harness';

let h: Harness;
let accountId: string;
let key: string;
const ids: string[] = [];
const list = (q: string): string => `/v2/accounts/${accountId}/devices/sip${q}`;

beforeAll(async () => {
  h = await startHarness();
  ({ accountId, key } = await h.createAccount('Pagination'));
  // 200 devices through the API (distinct created_at, mostly) ...
  for (let i = 0; i < 200; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        h.req('POST', list(''), { token: key, body: deviceBody(i + j, { status: undefined, assignedUser: (i + j) % 3 === 0 ? 'user_team' : `user_${i + j}`, name: `Phone ${(i + j) % 10 === 0 ? 'Lobby' : 'Desk'} ${i + j}` }) }),
      ),
    );
    for (const r of batch) {
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
  }
  // ... and 60 sharing one created_at, so that the id tie-break of the keyset is exercised.
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO devices (id, account_id, name, sip_username, sip_domain, password_enc, ha1_md5, ha1_sha256, created_at)
     SELECT 'dev_sip_tie' || lpad(g::text, 4, '0'), $1, 'Tie ' || g, 'tie' || g, 'sip.test.example', 'x:y:z:w', 'm', 's', '2030-01-01T00:00:00.123456Z'
       FROM generate_series(1, 60) g RETURNING id`,
    [accountId],
  );
  ids.push(...rows.map((r) => r.id));
});
afterAll(async () => {
  await h.close();
});

async function walk(query: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const r: Awaited<ReturnType<Harness['req']>> = await h.req('GET', list(`?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), { token: key });
    expect(r.status).toBe(200);
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...r.body.data.map((d: { id: string }) => d.id));
    if (!r.body.has_more) {
      expect(r.body.next_cursor).toBeNull();
      return seen;
    }
    cursor = r.body.next_cursor;
  }
  throw new Error('pagination did not end');
}

describe('listing devices', () => {
  it('walks 260 devices in pages of 7 with none missed or repeated, in a stable order', async () => {
    const seen = await walk('', 7);
    expect(seen).toHaveLength(260);
    expect(new Set(seen).size).toBe(260);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(await walk('', 7)).toEqual(seen);
  });

  it('keeps walking correctly while devices are deleted and added between pages', async () => {
    const first = await h.req('GET', list('?limit=50'), { token: key });
    const last = first.body.data[49];
    // Delete the device the cursor points at, and one further on; add one at the end.
    await h.req('DELETE', list(`/${last.id}`), { token: key });
    const further = ids[120]!;
    await h.req('DELETE', list(`/${further}`), { token: key });
    const added = await h.req('POST', list(''), { token: key, body: deviceBody(999) });
    const rest: string[] = [];
    let cursor: string | null = first.body.next_cursor;
    while (cursor) {
      const r: Awaited<ReturnType<Harness['req']>> = await h.req('GET', list(`?limit=50&cursor=${cursor}`), { token: key });
      rest.push(...r.body.data.map((d: { id: string }) => d.id));
      cursor = r.body.next_cursor;
    }
    const all = [...first.body.data.map((d: { id: string }) => d.id), ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(all).not.toContain(further);
    expect(all).toContain(added.body.id);
    // The first page still shows the device deleted after it was fetched; the later one is skipped, the new one seen.
    expect(all).toHaveLength(260 - 1 + 1);
  });

  it('defaults to 50 per page and caps limit at 200', async () => {
    const r = await h.req('GET', list(''), { token: key });
    expect(r.body.data).toHaveLength(50);
    expect(r.body.has_more).toBe(true);
    expect((await h.req('GET', list('?limit=201'), { token: key })).status).toBe(422);
    expect((await h.req('GET', list('?limit=0'), { token: key })).status).toBe(422);
    expect((await h.req('GET', list('?limit=abc'), { token: key })).status).toBe(422);
  });

  it('limit is a decimal integer only: hex, exponent, sign, fraction or spaces are 422 (devices and accounts)', async () => {
    for (const limit of ['0x10', '1e1', '+5', '-5', '5.0', '%205', '5%20', '', '0b11', 'Infinity']) {
      for (const path of [list(`?limit=${limit}`), `/v2/accounts?limit=${limit}`]) {
        const r = await h.req('GET', path, { token: path.startsWith('/v2/accounts?') ? h.adminKey : key });
        expect([path, r.status, r.body.errors?.[0]?.field]).toEqual([path, 422, 'limit']);
      }
    }
    expect((await h.req('GET', list('?limit=016'), { token: key })).body.data).toHaveLength(16);
    expect((await h.req('GET', '/v2/accounts?limit=1')).status).toBe(200);
  });

  it('a query string with bad percent-encoding is a 400, not decoded to U+FFFD', async () => {
    for (const q of ['?name=%E0%A4%A', '?name=%ZZ', '?name=100%', '?assignedUser=%ED%A0%80', '?cursor=%C0%80', '?na%E0me=x']) {
      const r = await h.req('GET', list(q), { token: key });
      expect([q, r.status, r.body.code]).toEqual([q, 400, 'bad-request']);
    }
    const accounts = await h.req('GET', '/v2/accounts?cursor=%E0%A4%A');
    expect([accounts.status, accounts.body.code]).toEqual([400, 'bad-request']);
    // Well-formed encodings still work: '+' for a space, multi-byte UTF-8, an encoded '%'.
    expect((await h.req('GET', list(`?name=Phone+Lobby&limit=1`), { token: key })).status).toBe(200);
    expect((await h.req('GET', list(`?name=${encodeURIComponent('Téléphone 100%')}`), { token: key })).body.data).toEqual([]);
  });

  it('filters by status, assignedUser, sipUsername, macAddress (any spelling) and name substring', async () => {
    const some = await h.req('GET', list('?limit=3'), { token: key });
    const target = some.body.data[2];
    await h.req('PATCH', list(`/${target.id}`), { token: key, body: { status: 'inactive' } });
    const inactive = await h.req('GET', list('?status=inactive'), { token: key });
    expect(inactive.body.data.map((d: { id: string }) => d.id)).toEqual([target.id]);

    const team = await walk('&assignedUser=user_team', 10);
    const teamRows = await h.db.pool.query("SELECT count(*)::int AS n FROM devices WHERE account_id = $1 AND assigned_user = 'user_team'", [accountId]);
    expect(team).toHaveLength(teamRows.rows[0].n);
    expect(team.length).toBeGreaterThan(10);

    const byUser = await h.req('GET', list(`?sipUsername=${target.sipUsername}`), { token: key });
    expect(byUser.body.data.map((d: { id: string }) => d.id)).toEqual([target.id]);

    const dashed = target.macAddress.replace(/:/g, '-').toUpperCase();
    const byMac = await h.req('GET', list(`?macAddress=${dashed}`), { token: key });
    expect(byMac.body.data.map((d: { id: string }) => d.id)).toEqual([target.id]);

    const lobby = await walk('&name=lObBy', 5);
    expect(lobby.length).toBeGreaterThan(5);
    const lobbyRows = await h.db.pool.query("SELECT count(*)::int AS n FROM devices WHERE account_id = $1 AND name ILIKE '%lobby%'", [accountId]);
    expect(lobby).toHaveLength(lobbyRows.rows[0].n);

    const wildcard = await h.req('GET', list('?name=%25'), { token: key });
    expect(wildcard.body.data).toEqual([]);
  });

  it('rejects a forged cursor and unknown query parameters with 422', async () => {
    const bad = await h.req('GET', list('?cursor=not-a-cursor'), { token: key });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('cursor');
    const forged = Buffer.from(JSON.stringify(["2020-01-01T00:00:00.000000Z' OR 1=1", 'dev_sip_x'])).toString('base64url');
    expect((await h.req('GET', list(`?cursor=${forged}`), { token: key })).status).toBe(422);
    const unknown = await h.req('GET', list('?colour=red'), { token: key });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0]).toMatchObject({ field: 'colour', code: 'unknown-field' });
    expect((await h.req('GET', list('?status=deleted'), { token: key })).status).toBe(422);
  });

  it('a cursor with an impossible timestamp is the same 422 as any other bad cursor, not a 500', async () => {
    const bad = await h.req('GET', list('?cursor=not-a-cursor'), { token: key });
    const cursor = (ts: string): string => Buffer.from(JSON.stringify([ts, 'dev_sip_abc'])).toString('base64url');
    for (const ts of ['2024-13-45T99:99:99.000000Z', '2024-02-30T00:00:00.000000Z', '2023-02-29T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2024-01-01T24:00:00.000000Z', '2024-06-30T23:59:60.000000Z']) {
      const r = await h.req('GET', list(`?cursor=${cursor(ts)}`), { token: key });
      expect([ts, r.status, r.body.errors]).toEqual([ts, 422, bad.body.errors]);
    }
    // Real dates at the edges still work: a leap day, the first year PostgreSQL has, the last second of a day.
    for (const ts of ['2024-02-29T12:00:00.123456Z', '0001-01-01T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z']) {
      const r = await h.req('GET', list(`?limit=1&cursor=${cursor(ts)}`), { token: key });
      expect([ts, r.status]).toEqual([ts, 200]);
    }
  });
});
