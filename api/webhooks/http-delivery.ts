import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { types } from 'node:util';
import { checkWebhookTarget, guardedLookup, parseWebhookUrl, WebhookTargetError, type LookupAll } from './target-guard';

/**
 * One HTTP POST of a webhook, over node:http / node:https rather than fetch,
 * because only they take a custom `lookup`: the socket connects to an address
 * guardedLookup checked at that moment. One connection per delivery
 * (`agent: false`): no pool to reason about, nothing shared between targets.
 */

/** The outcome of one delivery attempt. */
export interface DeliveryResult {
  /** True for a 2xx answer (only then is the delivery done). */
  ok: boolean;
  /** The answer's HTTP status, or null when none arrived. */
  status: number | null;
  /** Why it failed, in a few words (never the body, a header value or a secret); null when ok. */
  error: string | null;
  /** From the call to the outcome. */
  durationMs: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 65_536;
const DEFAULT_USER_AGENT = 'sipreg-webhooks/1';
/** Error texts are stored and shown: a long one is cut. */
const MAX_ERROR_LENGTH = 200;

/** The error of an answer with this status, or null for 2xx. */
function statusError(status: number): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `redirect not followed (HTTP ${status})`;
  return `HTTP ${status}`;
}

/**
 * A short description of a request error (node's messages name an address and
 * port at most). isNativeError rather than instanceof: errors made by node
 * itself come from another realm under jest's vm contexts.
 */
function describeError(err: unknown): string {
  if (!types.isNativeError(err)) return 'request failed';
  // When every address of a name fails, node (autoSelectFamily) reports an AggregateError; the first one says why.
  const { errors } = err as Partial<AggregateError>;
  const cause: Error = Array.isArray(errors) && types.isNativeError(errors[0]) ? errors[0] : err;
  const { code } = cause as NodeJS.ErrnoException;
  // OpenSSL's messages ("write EPROTO 80..:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/..") say why in one field.
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(cause.message);
  const message = ssl ? `TLS failed: ${ssl[1]}` : cause.message.replace(/\s+/g, ' ').trim();
  // A refusal's message is complete; other codes are added when the message does not name them.
  const text = code && code !== 'EWEBHOOKREFUSED' && !message.includes(code) ? `${message} (${code})` : message;
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/**
 * POSTs `body` with `headers` (plus `user-agent`, default sipreg-webhooks/1,
 * and `content-length`) to `url`. Only addresses isAllowedAddress accepts for
 * `allowPrivate` are connected to. `timeoutMs` bounds the whole exchange
 * (resolution, connection, answer). Redirects are not followed (a 3xx is a
 * failure). Up to `maxResponseBytes` (default 65536) of the answer are read
 * and discarded; beyond that, or when the timeout strikes after the status
 * arrived, the connection is dropped and the status still decides. Never
 * throws: every failure is a result with `ok: false`.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean; maxResponseBytes?: number; lookup?: LookupAll; userAgent?: string },
): Promise<DeliveryResult> {
  const started = performance.now();
  const outcome = (status: number | null, error: string | null): DeliveryResult => ({
    ok: status !== null && error === null,
    status,
    error,
    durationMs: Math.round(performance.now() - started),
  });

  let target: URL;
  try {
    target = parseWebhookUrl(url);
    // Node calls no lookup for an IP-literal host, so guardedLookup would never see it: check it here.
    if (isIP(target.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0) await checkWebhookTarget(target, { allowPrivate: opts.allowPrivate });
  } catch (err) {
    return outcome(null, err instanceof WebhookTargetError ? err.message : describeError(err));
  }

  const maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return new Promise<DeliveryResult>((resolve) => {
    let req: http.ClientRequest | undefined;
    let status: number | null = null;
    let settled = false;
    const finish = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(outcome(status, error));
    };
    // Once the status is known it decides; what is left is reading a body nobody needs.
    const finishWithStatus = (): void => finish(status === null ? 'connection closed before a response' : statusError(status));
    const timer = setTimeout(
      () => (status === null ? finish(`timed out after ${opts.timeoutMs} ms`) : finishWithStatus()),
      opts.timeoutMs,
    );

    try {
      req = (target.protocol === 'https:' ? https : http).request(target, {
        method: 'POST',
        // Set last so that they replace any spelling of the same names in `headers`.
        headers: { ...headers, 'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        lookup: guardedLookup(opts.allowPrivate, opts.lookup),
      });
    } catch (err) {
      // e.g. a header value with a newline: node refuses it before connecting.
      finish(describeError(err));
      return;
    }
    req.on('error', (err) => (status === null ? finish(describeError(err)) : finishWithStatus()));
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxResponseBytes) finishWithStatus();
      });
      res.on('end', finishWithStatus);
      // An answer cut short (reset, destroyed) still has its status.
      res.on('error', finishWithStatus);
      res.on('close', finishWithStatus);
    });
    req.end(body);
  });
}
