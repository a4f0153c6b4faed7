import { checkResponse, validate } from './helpers/json-schema';
import { deviceBody, Harness, startHarness } from './helpers/harness';
import { registerDevice } from './helpers/live';

let h: Harness;
let doc: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a parsed JSON document
let accountId: string;
let deviceId: string;
let keyId: string;
let webhookId: string;

beforeAll(async () => {
  h = await startHarness({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  doc = (await h.req('GET', '/v2/openapi.json', { token: null })).body;
  const acc = await h.createAccount('OpenAPI');
  accountId = acc.accountId;
  keyId = acc.keyId;
  const d = await h.req('POST', `/v2/accounts/${accountId}/devices/sip`, { body: deviceBody(1) });
  deviceId = d.body.id;
  await registerDevice(h.store, deviceId);
  for (let i = 0; i < 10; i++) await h.sipBlocks.recordFailure('192.0.2.99', 'u@sip.test.example');
  webhookId = (await h.req('POST', `/v2/accounts/${accountId}/webhooks`, { body: { url: 'http://127.0.0.1:9/hook', events: ['*'] } })).body.id;
});
afterAll(async () => {
  await h.close();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with an X-Auth-Token security scheme and resolvable references', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'X-Auth-Token' });
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(doc.components.schemas[ref.slice(22, -1)]).toBeDefined();
  });

  it('documents the seed endpoints with the seed fields', () => {
    const device = doc.components.schemas.Device;
    for (const f of ['id', 'accountId', 'type', 'name', 'model', 'status', 'sipUsername', 'sipDomain', 'displayName', 'ipAddress', 'macAddress', 'registrationStatus', 'lastRegistration', 'assignedUser', 'createdAt', 'updatedAt']) {
      expect(device.required).toContain(f);
    }
    const base = '/v2/accounts/{accountId}/devices/sip';
    expect(Object.keys(doc.paths[base])).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(doc.paths[`${base}/{deviceId}`])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(doc.paths[`${base}/{deviceId}/credentials`].get).toBeDefined();
    expect(doc.paths[`${base}/{deviceId}/reset-password`].post).toBeDefined();
    expect(doc.components.schemas.DeviceCreate.additionalProperties).toBe(false);
  });

  it('every documented operation exists on the server and its real answer matches the document', async () => {
    const fill = (p: string): string =>
      p.replace('{accountId}', accountId).replace('{deviceId}', deviceId).replace('{keyId}', keyId).replace('{address}', '192.0.2.99').replace('{webhookId}', webhookId);
    const bodies: Record<string, unknown> = {
      createSipDevice: deviceBody(2),
      updateSipDevice: { name: 'renamed' },
      resetSipPassword: { gracePeriodSeconds: 10 },
      createAccount: { name: 'From the OpenAPI walk' },
      createApiKey: { name: 'walk' },
      createWebhook: { url: 'http://127.0.0.1:9/walk', events: ['registered', 'device.updated'] },
      updateWebhook: { enabled: false },
    };
    // The event stream never ends by itself: its own tests read it (api/test/events.test.ts).
    const endless = new Set(['streamAccountEvents']);
    // Deletions last, so that the other operations see the resources.
    const ops: { method: string; path: string; id: string }[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>)) {
      for (const method of ['get', 'post', 'patch', 'delete']) if (item[method] && !endless.has(item[method].operationId)) ops.push({ method: method.toUpperCase(), path, id: item[method].operationId });
    }
    ops.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE') || (a.id === 'deleteSipDevice' ? 1 : 0) - (b.id === 'deleteSipDevice' ? 1 : 0));
    expect(ops.length).toBeGreaterThanOrEqual(20);
    for (const op of ops) {
      const r = await h.req(op.method, fill(op.path), { body: bodies[op.id] }); // the harness checks the answer against the document
      expect([op.id, r.status < 300]).toEqual([op.id, true]);
    }
  });

  it('the checker used by these tests does fail on a wrong answer', () => {
    const good = (() => {
      const d = { id: 'dev_sip_x', accountId: 'acc_x', type: 'sip', name: 'n', model: null, manufacturer: null, macAddress: null, sipUsername: 'u', sipDomain: 'd', displayName: null, assignedUser: null, status: 'active', registrationStatus: 'pending', lastRegistration: null, ipAddress: null, lastFailure: null, lastProvisioned: null, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' };
      return d;
    })();
    const path = '/v2/accounts/acc_x/devices/sip/dev_sip_x';
    expect(checkResponse(doc, 'GET', path, 200, 'application/json', good)).toEqual([]);
    expect(checkResponse(doc, 'GET', path, 200, 'application/json', { ...good, extra: 1 })).not.toEqual([]);
    expect(checkResponse(doc, 'GET', path, 200, 'application/json', { ...good, status: 'gone' })).not.toEqual([]);
    expect(checkResponse(doc, 'GET', path, 200, 'application/json', { ...good, createdAt: 'yesterday' })).not.toEqual([]);
    const { name: _omit, ...missing } = good;
    expect(checkResponse(doc, 'GET', path, 200, 'application/json', missing)).not.toEqual([]);
    expect(checkResponse(doc, 'GET', path, 418, 'application/json', good)).not.toEqual([]);
    expect(checkResponse(doc, 'GET', path, 200, 'text/html', good)).not.toEqual([]);
    expect(checkResponse(doc, 'PUT', path, 200, 'application/json', good)).not.toEqual([]);
    expect(checkResponse(doc, 'GET', '/v2/unknown', 200, 'application/json', good)).not.toEqual([]);
    expect(() => validate({ type: 'string', unknownKeyword: 1 }, 'x', {})).toThrow(/unsupported keyword/);
  });
});
