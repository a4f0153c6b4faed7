/**
 * The signed-in key: in sessionStorage only (gone when the tab closes; never in a URL,
 * a cookie or localStorage), with what /v2/whoami said about it.
 */
export interface Principal {
  kind: 'operator' | 'account';
  keyId: string;
  accountId: string | null;
}

const KEY = 'sipreg.console.key';
const WHO = 'sipreg.console.principal';

export function savedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function savedPrincipal(): Principal | null {
  try {
    const raw = sessionStorage.getItem(WHO);
    return raw ? (JSON.parse(raw) as Principal) : null;
  } catch {
    return null;
  }
}

export function saveSession(key: string, who: Principal): void {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(WHO, JSON.stringify(who));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
}
