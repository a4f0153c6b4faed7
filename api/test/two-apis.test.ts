import { until } from '../../shared/testing/wait';
import { Harness, startHarness } from './helpers/harness';

// Two API processes behind nothing but their ports, on one database and Redis: what one
// does, the other sees (a key revoked on one is refused on the other within API_KEY_CACHE_TTL_MS).

const TTL_MS = 1000;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  a = await startHarness({ API_KEY_CACHE_TTL_MS: String(TTL_MS) });
  b = await startHarness({ API_KEY_CACHE_TTL_MS: String(TTL_MS), ADMIN_API_KEY: a.adminKey }, { shared: { db: a.db, prefix: a.prefix }, cipher: a.cipher });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

it('a key revoked on one API is refused on the other within the cache TTL, and at once on the first', async () => {
  const account = await a.createAccount('Two APIs');
  const path = `/v2/accounts/${account.accountId}/devices/sip`;
  // Both have verified (and cached) the key.
  expect((await a.req('GET', path, { token: account.key })).status).toBe(200);
  expect((await b.req('GET', path, { token: account.key })).status).toBe(200);
  const revokedAt = Date.now();
  expect((await a.req('DELETE', `/v2/accounts/${account.accountId}/api-keys/${account.keyId}`)).status).toBe(204);
  expect((await a.req('GET', path, { token: account.key })).status).toBe(401);
  await until(async () => (await b.req('GET', path, { token: account.key })).status === 401, TTL_MS + 1500, 'the other API refusing the key', 50);
  const refusedAfter = Date.now() - revokedAt;
  console.log(`two APIs: the second refused the revoked key after ${refusedAfter} ms (API_KEY_CACHE_TTL_MS ${TTL_MS})`);
  // Once refused, it stays refused.
  expect((await b.req('GET', path, { token: account.key })).status).toBe(401);
});

it('a device created on one API is served, with its credentials, by the other', async () => {
  const account = await a.createAccount('Shared devices');
  const made = await a.req('POST', `/v2/accounts/${account.accountId}/devices/sip`, { token: account.key, body: { name: 'Desk', sipUsername: 'desk1' } });
  expect(made.status).toBe(201);
  const creds = await b.req('GET', `/v2/accounts/${account.accountId}/devices/sip/${made.body.id}/credentials`, { token: account.key });
  expect(creds.body.sipPassword).toBe(made.body.credentials.sipPassword);
});
