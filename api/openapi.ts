import { z } from 'zod';
import * as S from './schemas';
import { PROBLEM_CONTENT_TYPE } from './problem';

/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas the
 * server parses requests with and builds responses to (api/schemas.ts).
 */

type Json = Record<string, unknown>;

const REF = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });

/** Registered schemas, each becoming components.schemas.<id>. */
const COMPONENTS: z.ZodType[] = [
  S.DeviceCreateBody, S.DevicePatchBody, S.ResetPasswordBody, S.AccountCreateBody, S.AccountPatchBody, S.ApiKeyCreateBody,
  S.Device, S.DeviceCreated, S.DeviceList, S.Credentials, S.PasswordReset,
  S.Account, S.AccountCreated, S.AccountList, S.ApiKey, S.ApiKeyCreated, S.ApiKeyList,
  S.Registration, S.RegistrationList, S.SipBlock, S.SipBlockList, S.WhoAmI, S.Problem, S.Health,
  S.Event, S.EventList, S.StreamToken,
  S.WebhookCreateBody, S.WebhookPatchBody, S.Webhook, S.WebhookWithSecret, S.WebhookList, S.Delivery, S.DeliveryList,
  S.AccountProvisioningPatchBody, S.DeviceProvisioningPatchBody, S.AccountProvisioning, S.ProvisioningPassword, S.ProvisioningPreview,
  S.DeviceProvisioning, S.ProvisioningToken,
];

function componentSchemas(): Json {
  const registry = z.registry<{ id: string }>();
  for (const schema of COMPONENTS) {
    const meta = z.globalRegistry.get(schema) as { id?: string } | undefined;
    if (!meta?.id) throw new Error('component schema without an id');
    registry.add(schema, { ...meta, id: meta.id });
  }
  const out = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'output', unrepresentable: 'any' }) as { schemas: Record<string, Json> };
  const input = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input', unrepresentable: 'any' }) as { schemas: Record<string, Json> };
  const schemas: Json = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    // Request bodies are described as the server accepts them, responses as it sends them.
    const chosen = id.endsWith('Create') || id.endsWith('Patch') || id === 'ResetPassword' ? input.schemas[id]! : schema;
    const { $schema: _s, $id: _i, ...rest } = chosen;
    schemas[id] = rest;
  }
  return schemas;
}

const problem = (description: string, headers?: Json): Json => ({ description, ...(headers ? { headers } : {}), content: { [PROBLEM_CONTENT_TYPE]: { schema: REF('Problem') } } });
const retryAfter = (description: string, required: boolean): Json => ({ 'Retry-After': { description, required, schema: { type: 'integer', minimum: 1 } } });
const ERR: Record<number, Json> = {
  400: problem('Malformed JSON or unreadable request.'),
  401: problem('Missing, unknown or revoked X-Auth-Token.'),
  403: problem('The key may not access this account or operation.'),
  404: problem('No such resource (or not visible to this key).'),
  409: problem('sipUsername or macAddress already taken (`field` names which).'),
  413: problem('Body larger than API_BODY_LIMIT_BYTES.'),
  415: problem('Body not sent as application/json.'),
  422: problem('Invalid or unknown fields (`errors` lists each field at fault).'),
  429: problem(
    'Too many failed API key verifications from this client address (API_AUTH_FAILURE_LIMIT per API_AUTH_FAILURE_WINDOW_S); keys this process already verified still work.',
    retryAfter('Seconds until the address may try again.', true),
  ),
  500: problem('Unexpected server error (the detail never carries internals).'),
  503: problem(
    'PostgreSQL or Redis unavailable, or too many API key verifications waiting (then with Retry-After).',
    retryAfter('Seconds after which to retry (only when key verification is busy).', false),
  ),
};
/** Error responses of an authenticated operation: `codes`, plus 429 (failed-authentication limit) and 500 on every one. */
const errors = (...codes: number[]): Json => Object.fromEntries([...codes, 429, 500].sort((a, b) => a - b).map((c) => [String(c), ERR[c]]));
const ok = (status: number, description: string, schemaId?: string): Json => ({
  [String(status)]: schemaId ? { description, content: { 'application/json': { schema: REF(schemaId) } } } : { description },
});
const body = (schemaId: string, required = true): Json => ({ required, content: { 'application/json': { schema: REF(schemaId) } } });

const pathParam = (name: string, description: string, pattern?: RegExp): Json => ({
  name, in: 'path', required: true, description, schema: pattern ? { type: 'string', pattern: pattern.source } : { type: 'string' },
});
const accountId = pathParam('accountId', 'Account id (`acc_…`).');
const deviceId = pathParam('deviceId', 'Device id (`dev_sip_…`).');
const query = (name: string, schema: Json, description: string): Json => ({ name, in: 'query', required: false, description, schema });

const WRITE = [400, 401, 413, 415, 422, 503];

const limitParam = query('limit', { type: 'integer', minimum: 1, maximum: S.MAX_PAGE_LIMIT, default: S.DEFAULT_PAGE_LIMIT }, 'Page size.');
const cursorParam = query('cursor', { type: 'string' }, '`next_cursor` of the previous page.');
const typeParam = query('type', { type: 'string' }, 'Comma-separated event types (docs/events.md); unknown types are 422.');
const sinceParam = query('since', { type: 'string', format: 'date-time' }, 'Only events at or after this time.');
const deviceFilter = query('deviceId', { type: 'string' }, 'Only events of this device (also deleted ones).');
const webhookId = pathParam('webhookId', 'Webhook id (`whk_…`).');

function paths(): Json {
  const device = '/v2/accounts/{accountId}/devices/sip/{deviceId}';
  return {
    '/v2/accounts/{accountId}/devices/sip': {
      parameters: [accountId],
      post: {
        operationId: 'createSipDevice', summary: 'Create SIP device', tags: ['devices'],
        requestBody: body('DeviceCreate'),
        responses: { ...ok(201, 'Created; credentials.sipPassword is shown in this response only.', 'DeviceCreated'), ...errors(...WRITE, 403, 404, 409) },
      },
      get: {
        operationId: 'listSipDevices', summary: 'List SIP devices (cursor pagination, stable order by creation)', tags: ['devices'],
        parameters: [
          query('limit', { type: 'integer', minimum: 1, maximum: S.MAX_PAGE_LIMIT, default: S.DEFAULT_PAGE_LIMIT }, 'Page size.'),
          query('cursor', { type: 'string' }, '`next_cursor` of the previous page.'),
          query('status', { type: 'string', enum: ['active', 'inactive'] }, 'Exact status.'),
          query('assignedUser', { type: 'string' }, 'Exact assigned user.'),
          query('macAddress', { type: 'string' }, 'MAC address in any common spelling.'),
          query('sipUsername', { type: 'string' }, 'Exact SIP username.'),
          query('name', { type: 'string' }, 'Case-insensitive substring of the name.'),
        ],
        responses: { ...ok(200, 'One page of devices.', 'DeviceList'), ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    [device]: {
      parameters: [accountId, deviceId],
      get: { operationId: 'getSipDevice', summary: 'Retrieve SIP device with live registration status', tags: ['devices'], responses: { ...ok(200, 'The device.', 'Device'), ...errors(401, 404, 503) } },
      patch: {
        operationId: 'updateSipDevice', summary: 'Update SIP device', tags: ['devices'], requestBody: body('DevicePatch'),
        responses: { ...ok(200, 'The updated device.', 'Device'), ...errors(...WRITE, 404, 409) },
      },
      delete: { operationId: 'deleteSipDevice', summary: 'Delete SIP device', tags: ['devices'], responses: { ...ok(204, 'Deleted.'), ...errors(401, 404, 503) } },
    },
    [`${device}/credentials`]: {
      parameters: [accountId, deviceId],
      get: { operationId: 'getSipCredentials', summary: 'SIP credentials for manual configuration', tags: ['devices'], responses: { ...ok(200, 'Credentials.', 'Credentials'), ...errors(401, 404, 503) } },
    },
    [`${device}/reset-password`]: {
      parameters: [accountId, deviceId],
      post: {
        operationId: 'resetSipPassword', summary: 'Reset SIP password', tags: ['devices'], requestBody: body('ResetPassword', false),
        responses: { ...ok(200, 'The new password; expiresAt is when the previous one stops working.', 'PasswordReset'), ...errors(...WRITE, 404) },
      },
    },
    [`${device}/registrations`]: {
      parameters: [accountId, deviceId],
      get: { operationId: 'listRegistrations', summary: 'Live contact bindings of the device', tags: ['registrations'], responses: { ...ok(200, 'Bindings.', 'RegistrationList'), ...errors(401, 404, 503) } },
      delete: { operationId: 'removeRegistrations', summary: 'Remove every live binding (the device must register again)', tags: ['registrations'], responses: { ...ok(204, 'Removed.'), ...errors(401, 404, 503) } },
    },
    [`${device}/events`]: {
      parameters: [accountId, deviceId],
      get: {
        operationId: 'listDeviceEvents', summary: 'The device\'s registration history and audit events, newest first', tags: ['events'],
        parameters: [limitParam, cursorParam, typeParam, sinceParam],
        responses: { ...ok(200, 'One page of events.', 'EventList'), ...errors(400, 401, 404, 422, 503) },
      },
    },
    '/v2/accounts/{accountId}/events': {
      parameters: [accountId],
      get: {
        operationId: 'listAccountEvents', summary: 'The account\'s feed: registration outcomes and audit events, newest first', tags: ['events'],
        parameters: [limitParam, cursorParam, typeParam, sinceParam, deviceFilter],
        responses: { ...ok(200, 'One page of events.', 'EventList'), ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    '/v2/accounts/{accountId}/events/stream': {
      parameters: [accountId],
      get: {
        operationId: 'streamAccountEvents',
        summary: 'The account\'s events live, as Server-Sent Events',
        description: 'Each event is one SSE message: `id` (send it back as Last-Event-ID, or `lastEventId`, to resume) and `data` (the Event as JSON). Heartbeat comments every API_SSE_HEARTBEAT_S. Authenticated by X-Auth-Token or by `token` (a stream token), never by an API key in the URL.',
        tags: ['events'],
        security: [{ apiKey: [] }, {}],
        parameters: [
          query('token', { type: 'string' }, 'A stream token from POST …/events/stream-tokens (for browsers\' EventSource, which cannot send headers).'),
          typeParam,
          query('deviceId', { type: 'string' }, 'Only events of this device.'),
          query('lastEventId', { type: 'string' }, 'Resume after this event id (as the Last-Event-ID header does).'),
          { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event id (EventSource sends it when it reconnects).', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'The stream (text/event-stream), open until the client leaves, the key is revoked or the API stops.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errors(400, 401, 403, 404, 422, 503),
        },
      },
    },
    '/v2/accounts/{accountId}/events/stream-tokens': {
      parameters: [accountId],
      post: {
        operationId: 'createStreamToken', summary: 'A short-lived token to open this account\'s event stream', tags: ['events'],
        responses: { ...ok(201, 'The token (valid API_STREAM_TOKEN_TTL_S to open a stream).', 'StreamToken'), ...errors(401, 403, 404, 503) },
      },
    },
    '/v2/sip-events': {
      get: {
        operationId: 'listUnattributedSipEvents', summary: 'Events that belong to no account: unknown users and domains, malformed requests, unblocks (operator key)', tags: ['events'],
        parameters: [limitParam, cursorParam, typeParam, sinceParam],
        responses: { ...ok(200, 'One page of events.', 'EventList'), ...errors(400, 401, 403, 422, 503) },
      },
    },
    '/v2/accounts/{accountId}/webhooks': {
      parameters: [accountId],
      post: {
        operationId: 'createWebhook', summary: 'Create webhook (its signing secret is shown once)', tags: ['webhooks'], requestBody: body('WebhookCreate'),
        responses: { ...ok(201, 'Created; `secret` appears in this answer only.', 'WebhookWithSecret'), ...errors(...WRITE, 403, 404) },
      },
      get: { operationId: 'listWebhooks', summary: 'List webhooks', tags: ['webhooks'], responses: { ...ok(200, 'Webhooks.', 'WebhookList'), ...errors(401, 403, 404, 503) } },
    },
    '/v2/accounts/{accountId}/webhooks/{webhookId}': {
      parameters: [accountId, webhookId],
      get: { operationId: 'getWebhook', summary: 'Retrieve webhook', tags: ['webhooks'], responses: { ...ok(200, 'The webhook.', 'Webhook'), ...errors(401, 404, 503) } },
      patch: {
        operationId: 'updateWebhook', summary: 'Update url, events, description or enabled', tags: ['webhooks'], requestBody: body('WebhookPatch'),
        responses: { ...ok(200, 'The updated webhook.', 'Webhook'), ...errors(...WRITE, 404) },
      },
      delete: { operationId: 'deleteWebhook', summary: 'Delete webhook (and its deliveries)', tags: ['webhooks'], responses: { ...ok(204, 'Deleted.'), ...errors(401, 404, 503) } },
    },
    '/v2/accounts/{accountId}/webhooks/{webhookId}/rotate-secret': {
      parameters: [accountId, webhookId],
      post: {
        operationId: 'rotateWebhookSecret', summary: 'New signing secret; the previous one also signs for WEBHOOK_SECRET_ROTATION_GRACE_S', tags: ['webhooks'],
        responses: { ...ok(200, 'The webhook with its new `secret` (shown once).', 'WebhookWithSecret'), ...errors(401, 404, 503) },
      },
    },
    '/v2/accounts/{accountId}/webhooks/{webhookId}/deliveries': {
      parameters: [accountId, webhookId],
      get: {
        operationId: 'listWebhookDeliveries', summary: 'Deliveries of the webhook, newest first', tags: ['webhooks'],
        parameters: [limitParam, cursorParam, query('state', { type: 'string', enum: ['pending', 'delivered', 'failed'] }, 'Only deliveries in this state.')],
        responses: { ...ok(200, 'One page of deliveries.', 'DeliveryList'), ...errors(400, 401, 404, 422, 503) },
      },
    },
    '/v2/accounts/{accountId}/provisioning': {
      parameters: [accountId],
      get: { operationId: 'getAccountProvisioning', summary: 'Provisioning URL, HTTP username and settings of the account (created on first use)', tags: ['provisioning'], responses: { ...ok(200, 'The account\'s provisioning.', 'AccountProvisioning'), ...errors(401, 403, 404, 503) } },
      patch: {
        operationId: 'updateAccountProvisioning', summary: 'Set provisioning settings (null: back to the default)', tags: ['provisioning'], requestBody: body('AccountProvisioningPatch'),
        responses: { ...ok(200, 'The account\'s provisioning.', 'AccountProvisioning'), ...errors(...WRITE, 403, 404) },
      },
    },
    '/v2/accounts/{accountId}/provisioning/rotate-password': {
      parameters: [accountId],
      post: { operationId: 'rotateProvisioningPassword', summary: 'New HTTP password for the account\'s phones (the old one stops at once)', tags: ['provisioning'], responses: { ...ok(200, 'The new password.', 'ProvisioningPassword'), ...errors(401, 403, 404, 503) } },
    },
    [`${device}/provisioning`]: {
      parameters: [accountId, deviceId],
      get: {
        operationId: 'previewProvisioning', summary: 'The file the device\'s phone would fetch, and where', tags: ['provisioning'],
        parameters: [query('includePassword', { type: 'string', enum: ['true', 'false'] }, 'true: the SIP password in clear, recorded as a credentials view (default: masked).')],
        responses: { ...ok(200, 'The preview.', 'ProvisioningPreview'), ...errors(401, 404, 422, 503) },
      },
      patch: {
        operationId: 'updateDeviceProvisioning', summary: 'Set the device\'s own provisioning values (null: the account\'s)', tags: ['provisioning'], requestBody: body('DeviceProvisioningPatch'),
        responses: { ...ok(200, 'The device\'s provisioning values.', 'DeviceProvisioning'), ...errors(...WRITE, 404) },
      },
    },
    [`${device}/provisioning/token`]: {
      parameters: [accountId, deviceId],
      post: { operationId: 'createProvisioningToken', summary: 'A new secret path token for the device (replaces any)', tags: ['provisioning'], responses: { ...ok(201, 'The token\'s directory.', 'ProvisioningToken'), ...errors(401, 404, 503) } },
      delete: { operationId: 'removeProvisioningToken', summary: 'Remove the device\'s path token', tags: ['provisioning'], responses: { ...ok(204, 'Removed.'), ...errors(401, 404, 503) } },
    },
    '/v2/accounts': {
      post: {
        operationId: 'createAccount', summary: 'Create account with its first API key (operator key)', tags: ['accounts'], requestBody: body('AccountCreate'),
        responses: { ...ok(201, 'Created; apiKey.key is shown in this response only.', 'AccountCreated'), ...errors(...WRITE, 403) },
      },
      get: {
        operationId: 'listAccounts', summary: 'List accounts (operator key)', tags: ['accounts'],
        parameters: [
          query('limit', { type: 'integer', minimum: 1, maximum: S.MAX_PAGE_LIMIT, default: S.DEFAULT_PAGE_LIMIT }, 'Page size.'),
          query('cursor', { type: 'string' }, '`next_cursor` of the previous page.'),
        ],
        responses: { ...ok(200, 'One page of accounts.', 'AccountList'), ...errors(400, 401, 403, 422, 503) },
      },
    },
    '/v2/accounts/{accountId}': {
      parameters: [accountId],
      get: { operationId: 'getAccount', summary: 'Retrieve account', tags: ['accounts'], responses: { ...ok(200, 'The account.', 'Account'), ...errors(401, 403, 404, 503) } },
      patch: {
        operationId: 'updateAccount', summary: 'Update account name and SIP settings (operator key); sipDomain cannot change', tags: ['accounts'], requestBody: body('AccountPatch'),
        responses: { ...ok(200, 'The updated account.', 'Account'), ...errors(...WRITE, 403, 404) },
      },
    },
    '/v2/accounts/{accountId}/api-keys': {
      parameters: [accountId],
      post: {
        operationId: 'createApiKey', summary: 'Create API key', tags: ['api-keys'], requestBody: body('ApiKeyCreate', false),
        responses: { ...ok(201, 'Created; key is shown in this response only.', 'ApiKeyCreated'), ...errors(...WRITE, 403, 404) },
      },
      get: { operationId: 'listApiKeys', summary: 'List API keys (never their secrets)', tags: ['api-keys'], responses: { ...ok(200, 'Keys.', 'ApiKeyList'), ...errors(401, 403, 404, 503) } },
    },
    '/v2/accounts/{accountId}/api-keys/{keyId}': {
      parameters: [accountId, pathParam('keyId', 'API key id (`key_…`).')],
      delete: { operationId: 'revokeApiKey', summary: 'Revoke API key', tags: ['api-keys'], responses: { ...ok(204, 'Revoked (other API processes stop accepting it within API_KEY_CACHE_TTL_MS).'), ...errors(401, 403, 404, 503) } },
    },
    '/v2/whoami': {
      get: { operationId: 'whoAmI', summary: 'The presented key: operator, or the account it acts on', tags: ['api-keys'], responses: { ...ok(200, 'The key.', 'WhoAmI'), ...errors(401, 503) } },
    },
    '/v2/sip-blocks': {
      get: { operationId: 'listSipBlocks', summary: 'SIP brute-force blocks in force (operator key)', tags: ['sip-blocks'], responses: { ...ok(200, 'Blocks.', 'SipBlockList'), ...errors(401, 403, 503) } },
    },
    '/v2/sip-blocks/{address}': {
      parameters: [pathParam('address', 'Blocked IPv4 or IPv6 address.')],
      delete: { operationId: 'removeSipBlock', summary: 'Lift a SIP block (operator key)', tags: ['sip-blocks'], responses: { ...ok(204, 'Lifted.'), ...errors(401, 403, 404, 503) } },
    },
    '/v2/openapi.json': {
      get: { operationId: 'getOpenApi', summary: 'This document', tags: ['meta'], security: [], responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
    '/livez': {
      get: { operationId: 'livez', summary: 'Liveness', tags: ['meta'], security: [], responses: ok(200, 'The process answers.', 'Health') },
    },
    '/readyz': {
      get: {
        operationId: 'readyz', summary: 'Readiness: PostgreSQL and Redis answer', tags: ['meta'], security: [],
        responses: { ...ok(200, 'Ready.', 'Health'), '503': { description: 'A backing service is down.', content: { 'application/json': { schema: REF('Health') } } } },
      },
    },
  };
}

/** The whole document (built once per app). */
export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'SIP device management API',
      version: '2.0.0',
      description: 'Every path is also served under /v1 (alias of /v2). Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths: paths(),
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } },
      schemas: componentSchemas(),
    },
  };
}
