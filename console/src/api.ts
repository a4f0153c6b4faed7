import type { Problem } from './format';
import { problemText } from './format';

/** A refused API call: its status and problem+json, in words. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problemText(problem, status));
    this.name = 'ApiError';
  }
}

/**
 * Calls the API of this origin under /v2 with the key in X-Auth-Token (never in the URL).
 * A 401 means the key expired or was revoked: `onUnauthenticated` sends the user back to sign-in.
 */
export class Api {
  constructor(private readonly key: string, private readonly onUnauthenticated: (message: string) => void) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'X-Auth-Token': this.key, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`/v2${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ApiError(0, {});
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status === 401) {
      this.onUnauthenticated('The API refused the key: it expired or was revoked. Sign in again.');
      throw new ApiError(401, (parsed as Problem) ?? {});
    }
    if (!res.ok) throw new ApiError(res.status, (parsed as Problem) ?? {});
    return parsed as T;
  }

  /** The raw streaming response of the account's event stream (the key in its header). */
  stream(accountId: string, lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { 'X-Auth-Token': this.key, Accept: 'text/event-stream' };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    return fetch(`/v2/accounts/${encodeURIComponent(accountId)}/events/stream`, { headers, signal, cache: 'no-store', credentials: 'omit' });
  }
}

/** A path segment from a value the user or the API gave. */
export const seg = (s: string): string => encodeURIComponent(s);
