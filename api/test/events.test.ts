import { DOMAIN, Phone, SipClient, Stack, startStack } from '../../registrar/test/support';
import { until } from '../../shared/testing/wait';
import { Harness, startHarness } from './helpers/harness';
import { SseClient } from './helpers/sse';

// Registrar (edge + registrar) and API on one schema and Redis prefix: real REGISTERs, their events read through the API.
let stack: Stack;
let h: Harness;
let client: SipClient;
const accountPath = (): string => `/v2/accounts/${stack.accountId}`;

beforeAll(async () => {
  stack = await startStack();
  h = await startHarness({ API_SSE_HEARTBEAT_S: '1' }, { shared: { db: stack.db, prefix: stack.prefix } });
  client = await SipClient.udp(stack.udp);
});
afterAll(async () => {
  client.close();
  await h.close();
  await stack.stop();
});

/** A device created through the API in the stack's account, and a phone holding its password. */
async function provision(sipUsername: string): Promise<{ deviceId: string; phone: Phone }> {
  const r = await h.req('POST', `${accountPath()}/devices/sip`, { body: { name: `Phone ${sipUsername}`, sipUsername } });
  expect(r.status).toBe(201);
  return { deviceId: r.body.id, phone: new Phone(client, sipUsername, r.body.credentials.sipPassword) };
}

/** The device's events through the API, oldest first. */
async function history(deviceId: string, query = ''): Promise<any[]> { // eslint-disable-line @typescript-eslint/no-explicit-any -- event JSON
  const r = await h.req('GET', `${accountPath()}/devices/sip/${deviceId}/events${query}`);
  expect(r.status).toBe(200);
  return [...r.body.data].reverse();
}

const device = async (deviceId: string) => (await h.req('GET', `${accountPath()}/devices/sip/${deviceId}`)).body;

describe('a device\'s registration history', () => {
  it('shows registered, a wrong password, a replayed Authorization and Expires 0 in order, with source and User-Agent; lastFailure holds the replay until the next success', async () => {
    const { deviceId, phone } = await provision('alice');
    const ok = await phone.register();
    expect(ok.final?.status).toBe(200);

    const wrong = new Phone(client, 'alice', 'not-the-password');
    expect((await wrong.register()).final?.status).toBe(401);
    await until(async () => (await device(deviceId)).lastFailure?.reason === 'wrong_password', 3000, 'lastFailure wrong_password');

    // The 200's Authorization sent again as is (same nonce, same nonce-count): a replay.
    expect((await phone.send({ authorization: ok.authorization }))?.status).toBe(401);
    await until(async () => (await device(deviceId)).lastFailure?.reason === 'nonce_replay', 3000, 'lastFailure nonce_replay');
    const failure = (await device(deviceId)).lastFailure;
    expect(failure).toEqual({ at: expect.any(String), reason: 'nonce_replay', sourceIp: '127.0.0.1' });

    expect((await phone.register({ expires: 0 })).final?.status).toBe(200);
    await until(async () => (await history(deviceId)).length >= 5, 3000, 'five events');
    const events = await history(deviceId);
    expect(events.map((e) => [e.type, e.data.reason ?? null])).toEqual([
      ['device.created', null],
      ['registered', null],
      ['auth_failed', 'wrong_password'],
      ['auth_failed', 'nonce_replay'],
      ['unregistered', 'expires_zero'],
    ]);
    for (const e of events.slice(1)) {
      expect(e).toMatchObject({ accountId: stack.accountId, deviceId, data: { sourceIp: '127.0.0.1', sourcePort: client.localPort, transport: 'udp', userAgent: 'RegistrarTest/1.0' } });
    }
    expect(events[1].data).toMatchObject({ contact: phone.contact.slice(1, -1), expires: 3600 });
    expect(Date.parse(events[1].at)).toBeLessThanOrEqual(Date.parse(events[4].at));
    // The success after the failures cleared lastFailure.
    expect((await device(deviceId)).lastFailure).toBeNull();
    const list = await h.req('GET', `${accountPath()}/devices/sip?sipUsername=alice`);
    expect(list.body.data[0].lastFailure).toBeNull();
  });

  it('pages newest first with a cursor, filters by type and time, and refuses unknown types and cursors', async () => {
    const { deviceId, phone } = await provision('bruno');
    for (let i = 0; i < 3; i++) expect((await new Phone(client, 'bruno', `wrong-${i}`).register()).final?.status).toBe(401);
    expect((await phone.register()).final?.status).toBe(200);
    await until(async () => (await history(deviceId)).length >= 5, 3000, 'five events');
    const base = `${accountPath()}/devices/sip/${deviceId}/events`;
    const first = await h.req('GET', `${base}?limit=2`);
    expect(first.body.data.map((e: { type: string }) => e.type)).toEqual(['registered', 'auth_failed']);
    expect(first.body.has_more).toBe(true);
    const second = await h.req('GET', `${base}?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((e: { type: string }) => e.type)).toEqual(['auth_failed', 'auth_failed']);
    const rest = await h.req('GET', `${base}?limit=2&cursor=${second.body.next_cursor}`);
    expect(rest.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(rest.body.data.map((e: { type: string }) => e.type)).toEqual(['device.created']);
    const failures = await h.req('GET', `${base}?type=auth_failed,blocked`);
    expect(failures.body.data).toHaveLength(3);
    const future = await h.req('GET', `${base}?since=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.data).toEqual([]);
    const recent = await h.req('GET', `${base}?since=${new Date(Date.now() - 600_000).toISOString()}`);
    expect(recent.body.data).toHaveLength(5);
    expect((await h.req('GET', `${base}?type=registered,bogus`)).status).toBe(422);
    expect((await h.req('GET', `${base}?cursor=not-a-cursor`)).status).toBe(422);
    expect((await h.req('GET', `${base}?since=yesterday`)).status).toBe(422);
    expect((await h.req('GET', `${base}?extra=1`)).status).toBe(422);
  });

  it('records the rejected REGISTERs of a device with their SIP status, and a query that succeeds clears lastFailure', async () => {
    const { deviceId, phone } = await provision('carla');
    // 423: below the minimum expiry (60 s), after authentication.
    expect((await phone.register({ expires: 10 })).final?.status).toBe(423);
    await until(async () => (await history(deviceId)).some((e) => e.type === 'rejected'), 3000, 'the rejected event');
    expect((await history(deviceId)).find((e) => e.type === 'rejected').data).toMatchObject({ status: 423, reason: 'interval_too_brief' });
    expect((await device(deviceId)).lastFailure?.reason).toBe('interval_too_brief');
    expect((await phone.register({ contact: undefined })).final?.status).toBe(200); // a query: no Contact
    await until(async () => (await device(deviceId)).lastFailure === null, 3000, 'lastFailure cleared by a query');
  });
});

describe('tenancy of events', () => {
  it('shows another account none of this account\'s events, feed, stream or webhooks; unknown users appear only in the operators\' feed', async () => {
    const { deviceId, phone } = await provision('dora');
    expect((await phone.register()).final?.status).toBe(200);
    expect((await new Phone(client, 'nobody-here', 'whatever').register()).final?.status).toBe(401);
    const other = await h.createAccount('Other tenant');
    const as = { token: other.key };
    expect((await h.req('GET', `${accountPath()}/devices/sip/${deviceId}/events`, as)).status).toBe(404);
    expect((await h.req('GET', `${accountPath()}/events`, as)).status).toBe(403);
    expect((await h.req('POST', `${accountPath()}/events/stream-tokens`, as)).status).toBe(403);
    expect((await h.req('GET', `${accountPath()}/webhooks`, as)).status).toBe(403);
    expect((await h.req('GET', '/v2/sip-events', as)).status).toBe(403);
    const stream = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream`, { 'X-Auth-Token': other.key });
    expect(stream.status).toBe(403);
    stream.close();
    // Its own feed holds only its own (its account and key creation).
    const own = await h.req('GET', `/v2/accounts/${other.accountId}/events`, as);
    expect(own.body.data.map((e: { type: string }) => e.type).sort()).toEqual(['account.created', 'api_key.created']);
    expect(own.body.data.every((e: { accountId: string }) => e.accountId === other.accountId)).toBe(true);

    await until(async () => (await h.req('GET', '/v2/sip-events?type=auth_failed')).body.data.length > 0, 3000, 'the unknown user in the operators\' feed');
    const unattributed = (await h.req('GET', '/v2/sip-events?type=auth_failed')).body.data;
    expect(unattributed[0]).toMatchObject({ accountId: null, deviceId: null, data: { reason: 'unknown_user', sipUser: `nobody-here@${DOMAIN}`, sourceIp: '127.0.0.1' } });
    const feed = (await h.req('GET', `${accountPath()}/events?limit=200`)).body.data;
    expect(feed.some((e: { data: { reason?: string } }) => e.data.reason === 'unknown_user')).toBe(false);
    expect(feed.some((e: { deviceId: string; type: string }) => e.deviceId === deviceId && e.type === 'registered')).toBe(true);
  });
});

describe('the audit log', () => {
  it('records a name change with the key id and client address, and never a secret value', async () => {
    const { deviceId } = await provision('emil');
    const key = await h.req('POST', `${accountPath()}/api-keys`, { body: { name: 'desk' } });
    const as = { token: key.body.key };
    expect((await h.req('PATCH', `${accountPath()}/devices/sip/${deviceId}`, { ...as, body: { name: 'Emil\'s desk phone' } })).status).toBe(200);
    expect((await h.req('GET', `${accountPath()}/devices/sip/${deviceId}/credentials`, as)).status).toBe(200);
    expect((await h.req('POST', `${accountPath()}/devices/sip/${deviceId}/reset-password`, { ...as, body: {} })).status).toBe(200);
    expect((await h.req('DELETE', `${accountPath()}/devices/sip/${deviceId}/registrations`, as)).status).toBe(204);
    const feed = (await h.req('GET', `${accountPath()}/events?deviceId=${deviceId}`, as)).body.data.reverse();
    expect(feed.map((e: { type: string }) => e.type)).toEqual(['device.created', 'device.updated', 'device.credentials_viewed', 'device.password_reset', 'registrations.removed']);
    const updated = feed[1];
    expect(updated.data).toEqual({ fields: ['name'], actor: 'account', actorKeyId: key.body.id, clientIp: '127.0.0.1' });
    expect(feed.slice(1).every((e: { data: { actorKeyId: string } }) => e.data.actorKeyId === key.body.id)).toBe(true);
    // The device was created by an operator: the account sees that, not the operator's key or address; an operator sees both.
    expect(feed[0].data).toEqual({ fields: ['name', 'sipUsername'], actor: 'operator' });
    const asOperator = (await h.req('GET', `${accountPath()}/events?deviceId=${deviceId}&type=device.created`)).body.data[0];
    expect(asOperator.data).toMatchObject({ actor: 'operator', actorKeyId: 'admin-env', clientIp: '127.0.0.1' });
    // Keys: created and revoked, with who did it.
    expect((await h.req('DELETE', `${accountPath()}/api-keys/${key.body.id}`)).status).toBe(204);
    const keys = (await h.req('GET', `${accountPath()}/events?type=api_key.created,api_key.revoked`)).body.data;
    expect(keys.map((e: { type: string; data: { apiKeyId: string } }) => [e.type, e.data.apiKeyId])).toEqual(expect.arrayContaining([['api_key.revoked', key.body.id], ['api_key.created', key.body.id]]));
  });

  it('records the bindings a kick removes on the device', async () => {
    const { deviceId, phone } = await provision('fay');
    expect((await phone.register()).final?.status).toBe(200);
    await until(async () => (await history(deviceId)).some((e) => e.type === 'registered'), 3000, 'the registration written'); // written in the background
    expect((await h.req('DELETE', `${accountPath()}/devices/sip/${deviceId}/registrations`)).status).toBe(204);
    const events = await history(deviceId);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['registrations.removed', 'removed']);
    expect(events[events.length - 2].data.removed).toBe(1);
    expect(events[events.length - 1].data).toMatchObject({ reason: 'admin', contact: phone.contact.slice(1, -1), sourceIp: '127.0.0.1', actorKeyId: 'admin-env' });
  });
});

describe('the live event stream', () => {
  it('delivers a registration to a stream opened before it, and a reconnection with Last-Event-ID gets what it missed, once', async () => {
    const { deviceId, phone } = await provision('gus');
    const url = `${h.baseUrl}${accountPath()}/events/stream`;
    const live = await SseClient.open(url, { 'X-Auth-Token': h.adminKey });
    expect(live.status).toBe(200);
    expect(live.contentType).toMatch(/^text\/event-stream/);
    try {
      expect((await phone.register()).final?.status).toBe(200);
      const registered = await live.next((e) => e.type === 'registered' && e.deviceId === deviceId, 5000, 'the registered event');
      expect(registered.data).toMatchObject({ accountId: stack.accountId, data: { sourceIp: '127.0.0.1', userAgent: 'RegistrarTest/1.0' } });
      expect(registered.id).toMatch(/^\d+-\d+$/);
      await live.until(() => live.comments > 0, 5000, 'a heartbeat');
    } finally {
      live.close();
    }
    const lastId = live.messages[live.messages.length - 1]!.id!;

    // Missed while disconnected: a rename, a failed REGISTER and a kick.
    expect((await h.req('PATCH', `${accountPath()}/devices/sip/${deviceId}`, { body: { displayName: 'Gus' } })).status).toBe(200);
    expect((await new Phone(client, 'gus', 'wrong').register()).final?.status).toBe(401);
    // Streams follow the order events are written in: the registrar's come in batches, so wait for this one.
    await until(async () => (await history(deviceId)).some((e) => e.type === 'auth_failed'), 3000, 'the failure written');
    expect((await h.req('DELETE', `${accountPath()}/devices/sip/${deviceId}/registrations`)).status).toBe(204);

    const resumed = await SseClient.open(url, { 'X-Auth-Token': h.adminKey, 'Last-Event-ID': lastId });
    try {
      await resumed.next((e) => e.type === 'removed' && e.deviceId === deviceId, 5000, 'the kick');
      const types = resumed.messages.filter((m) => m.data.deviceId === deviceId).map((m) => m.data.type);
      expect(types).toEqual(['device.updated', 'auth_failed', 'registrations.removed', 'removed']);
      // Nothing sent twice, nothing from before the id it resumed after.
      const ids = resumed.messages.map((m) => m.data.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).not.toContain(live.messages[live.messages.length - 1]!.data.id);
      // The query parameter (for an EventSource made anew, which cannot send the header) resumes the same way.
      const byQuery = await SseClient.open(`${url}?lastEventId=${lastId}`, { 'X-Auth-Token': h.adminKey });
      await byQuery.next((e) => e.type === 'removed' && e.deviceId === deviceId, 5000, 'the kick, by query');
      expect(byQuery.messages.filter((m) => m.data.deviceId === deviceId).map((m) => m.data.type)).toEqual(types);
      byQuery.close();
      // And it goes on live.
      expect((await phone.register()).final?.status).toBe(200);
      await resumed.next((e) => e.type === 'registered' && e.deviceId === deviceId && e.id !== live.messages.find((m) => m.data.type === 'registered')?.data.id, 5000, 'the next registration');
    } finally {
      resumed.close();
    }
  });

  it('filters by type and device, opens with a stream token instead of a header, and refuses bad or foreign tokens', async () => {
    const { deviceId } = await provision('hana');
    const minted = await h.req('POST', `${accountPath()}/events/stream-tokens`);
    expect(minted.status).toBe(201);
    expect(minted.headers.get('cache-control')).toBe('no-store');
    expect(Date.parse(minted.body.expiresAt)).toBeGreaterThan(Date.now());
    const base = `${h.baseUrl}${accountPath()}/events/stream`;
    const s = await SseClient.open(`${base}?token=${encodeURIComponent(minted.body.token)}&type=device.updated&deviceId=${deviceId}`);
    expect(s.status).toBe(200);
    try {
      expect((await h.req('PATCH', `${accountPath()}/devices/sip/${deviceId}`, { body: { displayName: 'H' } })).status).toBe(200);
      expect((await h.req('GET', `${accountPath()}/devices/sip/${deviceId}/credentials`)).status).toBe(200);
      expect((await h.req('PATCH', `${accountPath()}/devices/sip/${deviceId}`, { body: { displayName: 'Hana' } })).status).toBe(200);
      await s.until(() => s.messages.length >= 2, 5000, 'two updates');
      expect(s.messages.map((m) => m.data.type)).toEqual(['device.updated', 'device.updated']);
    } finally {
      s.close();
    }
    const tampered = minted.body.token.slice(0, -2) + (minted.body.token.endsWith('A') ? 'BB' : 'AA');
    for (const [url, status] of [
      [`${base}?token=${encodeURIComponent(tampered)}`, 401],
      [`${base}?token=${encodeURIComponent(h.adminKey)}`, 401], // an API key is no stream token
      [`${base}`, 401],
      [`${h.baseUrl}/v2/accounts/acc_other123/events/stream?token=${encodeURIComponent(minted.body.token)}`, 403],
      [`${base}?token=${encodeURIComponent(minted.body.token)}&type=bogus`, 422],
      [`${base}?token=${encodeURIComponent(minted.body.token)}&lastEventId=garbage`, 400],
    ] as const) {
      const c = await SseClient.open(url);
      expect([url, c.status]).toEqual([url, status]);
      c.close();
    }
  });

  it('shows an account\'s stream that an operator acted, not the operator\'s key or address; refuses a token on another account', async () => {
    const { deviceId } = await provision('ida');
    const key = await h.req('POST', `${accountPath()}/api-keys`, { body: { name: 'viewer' } });
    const s = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream?type=device.updated`, { 'X-Auth-Token': key.body.key });
    try {
      expect((await h.req('PATCH', `${accountPath()}/devices/sip/${deviceId}`, { body: { name: 'by the operator' } })).status).toBe(200);
      const m = await s.next((e) => e.deviceId === deviceId, 5000, 'the update');
      expect(m.data.data).toEqual({ fields: ['name'], actor: 'operator' });
    } finally {
      s.close();
    }
    const other = await h.createAccount('Elsewhere');
    const token = (await h.req('POST', `${accountPath()}/events/stream-tokens`)).body.token as string; // an operator's, for this account
    const wrong = await SseClient.open(`${h.baseUrl}/v2/accounts/${other.accountId}/events/stream?token=${encodeURIComponent(token)}`);
    expect(wrong.status).toBe(403);
    wrong.close();
  });

  it('closes the streams of a revoked key at the next heartbeat', async () => {
    const key = await h.req('POST', `${accountPath()}/api-keys`, { body: { name: 'watcher' } });
    const minted = await h.req('POST', `${accountPath()}/events/stream-tokens`, { token: key.body.key });
    const s = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream?token=${encodeURIComponent(minted.body.token)}`);
    expect(s.status).toBe(200);
    expect((await h.req('DELETE', `${accountPath()}/api-keys/${key.body.id}`)).status).toBe(204);
    await s.until(() => s.ended, 5000, 'the stream to close');
    // Its tokens no longer open one.
    const again = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream?token=${encodeURIComponent(minted.body.token)}`);
    expect(again.status).toBe(401);
    again.close();
  });
});

describe('operating the events', () => {
  it('ends open streams cleanly when the API stops', async () => {
    const second = await startHarness({}, { shared: { db: stack.db, prefix: stack.prefix } });
    const s = await SseClient.open(`${second.baseUrl}${accountPath()}/events/stream`, { 'X-Auth-Token': second.adminKey });
    expect(s.status).toBe(200);
    await second.close();
    await s.until(() => s.ended, 5000, 'the stream to end');
  });

  it('serves Prometheus metrics on their own port: requests by route, streams, events written', async () => {
    const s = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream`, { 'X-Auth-Token': h.adminKey });
    try {
      const text = await (await fetch(`http://127.0.0.1:${h.api.metricsPort}/metrics`)).text();
      expect(text).toMatch(/api_http_requests_total\{method="GET",route="\/v2\/accounts\/:accountId\/devices\/sip\/:deviceId\/events",status="200"\} [1-9]/);
      expect(text).toMatch(/api_sse_clients [1-9]/);
      expect(text).toMatch(/api_events_written_total [1-9]/);
      expect(text).toMatch(/api_webhook_pending_deliveries 0/);
      expect(text).not.toMatch(/dev_sip_/); // ids never become labels
    } finally {
      s.close();
    }
    // Not on the API port.
    expect((await h.req('GET', '/metrics', { skipOpenApi: true })).status).toBe(404);
  });
});

describe('hostile event requests', () => {
  it('answers out-of-range cursors and event ids with 4xx, never 500', async () => {
    const base = `${accountPath()}/events`;
    expect((await h.req('GET', `${base}?cursor=${Buffer.from('9'.repeat(19)).toString('base64url')}`)).status).toBe(422);
    const s = await SseClient.open(`${h.baseUrl}${base}/stream`, { 'X-Auth-Token': h.adminKey, 'Last-Event-ID': `${'9'.repeat(20)}-1` });
    expect(s.status).toBe(400);
    s.close();
    const hook = await h.req('POST', `${accountPath()}/webhooks`, { body: { url: 'http://127.0.0.1:9/x', events: ['registered'] } });
    expect(hook.status).toBe(422); // loopback refused here (private targets not allowed in this file)
  });

  it('keeps streams out of the request-latency histogram, and takes no slot for a client gone before its stream opened', async () => {
    // Fresh keys: each request waits for argon2, long enough for the client to leave first.
    for (let i = 0; i < 3; i++) {
      const key = (await h.req('POST', `${accountPath()}/api-keys`, { body: { name: `leaver ${i}` } })).body.key as string;
      const c = await SseClient.open(`${h.baseUrl}${accountPath()}/events/stream`, { 'X-Auth-Token': key }).catch(() => null);
      c?.close();
    }
    const { request } = await import('node:http');
    for (let i = 0; i < 3; i++) {
      const key = (await h.req('POST', `${accountPath()}/api-keys`, { body: { name: `quick leaver ${i}` } })).body.key as string;
      const req = request(`${h.baseUrl}${accountPath()}/events/stream`, { headers: { 'X-Auth-Token': key } });
      req.on('error', () => undefined);
      req.end();
      setTimeout(() => req.destroy(), 5);
    }
    await new Promise((r) => setTimeout(r, 1500));
    const text = await (await fetch(`http://127.0.0.1:${h.api.metricsPort}/metrics`)).text();
    expect(text).toMatch(/api_sse_clients 0/);
    expect(text).not.toMatch(/api_http_request_duration_seconds_count\{[^}]*route="\/v2\/accounts\/:accountId\/events\/stream"/);
  });
});
