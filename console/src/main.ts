import { Api, ApiError } from './api';
import { PageContext, routes } from './context';
import { h, replace } from './dom';
import { clearSession, Principal, savedKey, savedPrincipal } from './session';
import { accountsPage, blocksPage } from './pages/operator';
import { devicePage } from './pages/device';
import { devicesPage } from './pages/devices';
import { keysPage } from './pages/keys';
import { settingsPage } from './pages/settings';
import { signInPage } from './pages/sign-in';

/**
 * The console's shell: routes (`#/a/<accountId>/devices`, …) to pages, the header with
 * navigation and sign-out, and the way back to sign-in when a key stops working.
 */

let leaving: (() => void)[] = [];
let signInMessage: string | null = null;

function signOut(message: string | null): void {
  clearSession();
  signInMessage = message;
  if (location.hash !== routes.signIn()) location.hash = routes.signIn();
  else void render();
}

function header(who: Principal | null, accountId: string | null): void {
  const top = document.getElementById('top')!;
  if (!who) {
    replace(top, h('p', { class: 'brand' }, 'SIP registrar console'));
    return;
  }
  const link = (href: string, label: string): HTMLElement => {
    const current = location.hash.startsWith(href);
    return h('a', { href, 'aria-current': current ? 'page' : null }, label);
  };
  replace(
    top,
    h('p', { class: 'brand' }, 'SIP registrar console'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      accountId ? [link(routes.devices(accountId), 'Devices'), link(routes.settings(accountId), 'Account'), link(routes.keys(accountId), 'API keys')] : null,
      who.kind === 'operator' ? [link(routes.accounts(), 'Accounts'), link(routes.blocks(), 'SIP blocks')] : null,
    ),
    h('p', { class: 'who' }, who.kind === 'operator' ? 'Operator key' : 'Account key', accountId ? h('span', { class: 'muted' }, ` · ${accountId}`) : null),
    h('button', { type: 'button', onclick: () => signOut('Signed out.') }, 'Sign out'),
  );
}

async function render(): Promise<void> {
  for (const fn of leaving) fn();
  leaving = [];
  const main = document.getElementById('main')!;
  const key = savedKey();
  const who = savedPrincipal();
  const hash = location.hash || '#/';
  if (!key || !who) {
    header(null, null);
    const message = signInMessage;
    signInMessage = null;
    replace(main, signInPage(message, (w) => (location.hash = w.kind === 'operator' ? routes.accounts() : routes.devices(w.accountId!))));
    document.title = 'Sign in · SIP registrar console';
    return;
  }
  const api = new Api(key, (message) => signOut(message));
  const m = /^#\/a\/([^/]+)\/(devices|settings|keys)(?:\/([^/]+))?$/.exec(hash);
  const accountId = m ? decodeURIComponent(m[1]!) : who.accountId;
  if (!m && hash !== routes.accounts() && hash !== routes.blocks()) {
    location.replace(who.kind === 'operator' ? routes.accounts() : routes.devices(who.accountId!));
    return;
  }
  header(who, accountId);
  const ctx: PageContext = { api, who, accountId: accountId ?? '', onLeave: (fn) => leaving.push(fn), go: (r) => (location.hash = r) };
  replace(main, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  let page: Promise<HTMLElement>;
  let title: string;
  if (hash === routes.accounts()) [page, title] = [accountsPage(ctx), 'Accounts'];
  else if (hash === routes.blocks()) [page, title] = [blocksPage(ctx), 'SIP blocks'];
  else if (m![2] === 'devices' && m![3]) [page, title] = [devicePage(ctx, decodeURIComponent(m![3])), 'Device'];
  else if (m![2] === 'devices') [page, title] = [devicesPage(ctx), 'Devices'];
  else if (m![2] === 'settings') [page, title] = [settingsPage(ctx), 'Account'];
  else [page, title] = [keysPage(ctx), 'API keys'];
  try {
    const el = await page;
    replace(main, el);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    const text = err instanceof ApiError && err.status === 404 ? 'Not found: nothing here is visible to this key.' : err instanceof Error ? err.message : 'Something went wrong.';
    replace(main, h('section', {}, h('h1', {}, err instanceof ApiError && err.status === 404 ? 'Not found' : 'Could not load this page'), h('p', { role: 'alert' }, text)));
  }
  document.title = `${title} · SIP registrar console`;
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => void render());
void render();
