import type { Api } from './api';
import { sseFrames } from './format';

export interface LiveEvent {
  id: string;
  type: string;
  at: string;
  accountId: string | null;
  deviceId: string | null;
  data: Record<string, unknown>;
}

/**
 * Follows the account's event stream (Server-Sent Events read with fetch, so the key
 * stays in a header), reconnecting with Last-Event-ID after a drop; `onState` says
 * whether it is live. Returns a function that stops it. When the stream cannot be
 * opened the pages fall back to polling.
 */
export function follow(api: Api, accountId: string, onEvent: (e: LiveEvent) => void, onState: (live: boolean) => void): () => void {
  const abort = new AbortController();
  let lastId: string | null = null;
  let delay = 1000;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const res = await api.stream(accountId, lastId, abort.signal);
        if (res.status === 401) return onState(false);
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        onState(true);
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const { frames, rest } = sseFrames(buffer + value);
          buffer = rest;
          for (const f of frames) {
            if (f.id) lastId = f.id;
            if (!f.data) continue;
            try {
              onEvent(JSON.parse(f.data) as LiveEvent);
            } catch {
              // not an event: ignored
            }
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onState(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void run();
  return () => abort.abort();
}
