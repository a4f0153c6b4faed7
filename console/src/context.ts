import type { Api } from './api';
import type { Principal } from './session';

/** What every page gets: the API, who is signed in, and its account (an operator picks one). */
export interface PageContext {
  api: Api;
  who: Principal;
  /** The account the page is about. */
  accountId: string;
  /** Called when the page is left (stops streams and timers). */
  onLeave(fn: () => void): void;
  /** Navigates to a console route (`#/…`). */
  go(route: string): void;
}

/** Console routes, hash-based so that the API serves one page. */
export const routes = {
  devices: (accountId: string): string => `#/a/${encodeURIComponent(accountId)}/devices`,
  device: (accountId: string, deviceId: string): string => `#/a/${encodeURIComponent(accountId)}/devices/${encodeURIComponent(deviceId)}`,
  settings: (accountId: string): string => `#/a/${encodeURIComponent(accountId)}/settings`,
  keys: (accountId: string): string => `#/a/${encodeURIComponent(accountId)}/keys`,
  accounts: (): string => '#/accounts',
  blocks: (): string => '#/blocks',
  signIn: (): string => '#/sign-in',
};
