/**
 * Pure helpers of the console: how times, durations and the API's problems read.
 * No DOM, no I/O: unit-tested under Node (console/test/format.test.ts).
 */

/** `3 min ago`, `2 h ago`, `just now`; `never` for null. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'in the future';
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Time left until `iso`: `59 min 12 s`, `expired`. */
export function remaining(iso: string, now: number): string {
  const s = Math.floor((Date.parse(iso) - now) / 1000);
  if (Number.isNaN(s)) return 'unknown';
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

/** An RFC 9457 problem as the API sends it. */
export interface Problem {
  status?: number;
  title?: string;
  detail?: string;
  code?: string;
  errors?: { field?: string; code?: string; message?: string }[];
}

/** The problem's messages per field (`''` for those naming none), in words. */
export function fieldErrors(problem: Problem): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of problem.errors ?? []) {
    const field = typeof e.field === 'string' ? e.field.split('.')[0]! : '';
    const message = e.message ?? e.code ?? 'is not valid';
    out.set(field, out.has(field) ? `${out.get(field)}; ${message}` : message);
  }
  return out;
}

/** One sentence for a problem, for the action that caused it. */
export function problemText(problem: Problem, status: number): string {
  if (status === 0) return 'The API did not answer. Check the connection and try again.';
  if (status === 429) return 'Too many attempts from this address; wait a moment and try again.';
  if (status === 503) return `${problem.detail ?? 'A service the API needs is unavailable'}. Try again shortly.`;
  const base = problem.detail ?? problem.title ?? `The API answered ${status}.`;
  return base;
}

/** A label and a class for a device's registrationStatus. */
export function registrationLabel(status: string | undefined): { text: string; cls: string } {
  switch (status) {
    case 'registered':
      return { text: 'Registered', cls: 'ok' };
    case 'unregistered':
      return { text: 'Unregistered', cls: 'off' };
    case 'pending':
      return { text: 'Never registered', cls: 'pending' };
    default:
      return { text: status ?? 'unknown', cls: 'pending' };
  }
}

/** Event types after which a device's live state may have changed. */
export const LIVE_TYPES = new Set(['registered', 'refreshed', 'unregistered', 'expired', 'removed', 'auth_failed', 'rejected', 'device.updated', 'device.deleted', 'device.password_reset', 'provisioned']);

/** Splits a comma- or space-separated list (codecs). */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The SSE frames of `buffer` that are complete, and what remains. */
export function sseFrames(buffer: string): { frames: { id?: string; data?: string }[]; rest: string } {
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const parts = normalized.split('\n\n');
  const rest = parts.pop() ?? '';
  const frames = parts.map((block) => {
    const frame: { id?: string; data?: string } = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') frame.id = value;
      else if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    }
    return frame;
  });
  return { frames, rest };
}
