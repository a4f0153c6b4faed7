import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from '../../shared/logger';
import { until } from '../../shared/testing/wait';
import { DOMAIN, md5, Phone, sha256, SipClient, Stack, startStack } from '../../registrar/test/support';
import { Harness, startHarness } from './helpers/harness';
import { SseClient } from './helpers/sse';

// Everything the stack writes down while secrets go through it: registrar and API logs (at trace
// level), events, webhook payloads, what the stream and a webhook receiver got. None may hold a
// SIP password, an HA1, an API key or a webhook secret.
let stack: Stack;
let h: Harness;
let receiver: Server;
const received: string[] = [];
const registrarLogs: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      registrarLogs.push(chunk.toString('utf8'));
      cb();
    },
  });
  stack = await startStack({ registrar: { log: pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink) } });
  h = await startHarness({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_POLL_MS: '50' }, { shared: { db: stack.db, prefix: stack.prefix } });
  receiver = createServer((req, res) => {
    let body = JSON.stringify(req.headers);
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await h.close();
  await stack.stop();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

it('no log line, event, webhook payload or stream message holds a SIP password, an HA1, an API key or a webhook secret', async () => {
  const accountPath = `/v2/accounts/${stack.accountId}`;
  const secrets: string[] = [h.adminKey];
  const key = await h.req('POST', `${accountPath}/api-keys`, { body: { name: 'leak test' } });
  secrets.push(key.body.key);
  const hook = await h.req('POST', `${accountPath}/webhooks`, { body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in`, events: ['*'] } });
  secrets.push(hook.body.secret, hook.body.secret.slice('whsec_'.length));
  const rotated = await h.req('POST', `${accountPath}/webhooks/${hook.body.id}/rotate-secret`);
  secrets.push(rotated.body.secret, rotated.body.secret.slice('whsec_'.length));
  const stream = await SseClient.open(`${h.baseUrl}${accountPath}/events/stream`, { 'X-Auth-Token': key.body.key });

  const created = await h.req('POST', `${accountPath}/devices/sip`, { body: { name: 'Leak phone', sipUsername: 'leaky' }, token: key.body.key });
  const passwords = [created.body.credentials.sipPassword];
  const client = await SipClient.udp(stack.udp);
  try {
    const phone = new Phone(client, 'leaky', passwords[0]);
    const ok = await phone.register();
    expect(ok.final?.status).toBe(200);
    expect((await new Phone(client, 'leaky', 'wrong-password').register()).final?.status).toBe(401);
    expect((await phone.send({ authorization: ok.authorization }))?.status).toBe(401);
    expect((await h.req('GET', `${accountPath}/devices/sip/${created.body.id}/credentials`, { token: key.body.key })).body.sipPassword).toBe(passwords[0]);
    const reset = await h.req('POST', `${accountPath}/devices/sip/${created.body.id}/reset-password`, { body: { gracePeriodSeconds: 60 }, token: key.body.key });
    passwords.push(reset.body.sipPassword);
    phone.password = reset.body.sipPassword;
    expect((await phone.register()).final?.status).toBe(200);
  } finally {
    client.close();
  }
  for (const p of passwords) secrets.push(p, md5(`leaky:${DOMAIN}:${p}`), sha256(`leaky:${DOMAIN}:${p}`));

  await until(async () => received.some((b) => b.includes('"type":"device.password_reset"')), 10_000, 'the webhook deliveries');
  await stream.until(() => stream.messages.filter((m) => m.data.type === 'registered' || m.data.type === 'refreshed').length >= 1 && stream.messages.some((m) => m.data.type === 'device.password_reset'), 5000, 'the stream');
  stream.close();

  const events = (await stack.db.pool.query('SELECT row_to_json(e)::text AS j FROM events e')).rows.map((r: { j: string }) => r.j);
  // Deliveries are created from events in batches: wait for the ones of the last registration too.
  const payloads = await until(async () => {
    const rows = (await stack.db.pool.query('SELECT payload FROM webhook_deliveries')).rows.map((r: { payload: string }) => r.payload);
    return rows.length > 5 && rows;
  }, 10_000, 'more than five webhook deliveries');
  const stored = (await stack.db.pool.query('SELECT row_to_json(w)::text AS j FROM webhooks w')).rows.map((r: { j: string }) => r.j);
  expect(events.length).toBeGreaterThan(5);
  expect(payloads.length).toBeGreaterThan(5);
  const corpus = { registrarLogs, apiLogs: h.logs, events, payloads, webhooksTable: stored, stream: [stream.raw], received };
  for (const [where, texts] of Object.entries(corpus)) {
    const all = texts.join('\n');
    for (const s of secrets) expect([where, all.includes(s)]).toEqual([where, false]);
    // No digest material either.
    expect([where, /Digest username=|response="/i.test(all)]).toEqual([where, false]);
  }
  // The check can fail: the secrets are where they belong (the answers that hand them out).
  expect(JSON.stringify(created.body)).toContain(passwords[0]);
  expect(registrarLogs.length).toBeGreaterThan(1);
  expect(h.logs.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(5);
});
