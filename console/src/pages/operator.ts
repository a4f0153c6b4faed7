import { seg } from '../api';
import { PageContext, routes } from '../context';
import { field, h, replace, secretDialog, table } from '../dom';
import { ago } from '../format';
import { act, actionForm, confirmButton, formValues } from '../forms';

interface Account {
  id: string;
  name: string;
  sipDomain: string;
  createdAt: string;
}

/** Operators: every account (paged), and a new one with its first key. */
export async function accountsPage(ctx: PageContext): Promise<HTMLElement> {
  const { api } = ctx;
  const tbody = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  let cursor: string | null = null;
  const load = async (reset: boolean): Promise<void> => {
    const q = new URLSearchParams({ limit: '50' });
    if (!reset && cursor) q.set('cursor', cursor);
    const page = await api.call<{ data: Account[]; has_more: boolean; next_cursor: string | null }>('GET', `/accounts?${q.toString()}`);
    if (reset) tbody.replaceChildren();
    const now = Date.now();
    for (const a of page.data) {
      tbody.append(h('tr', {}, h('td', {}, h('a', { href: routes.devices(a.id) }, a.name)), h('td', {}, a.sipDomain), h('td', {}, h('code', {}, a.id)), h('td', {}, ago(a.createdAt, now))));
    }
    cursor = page.next_cursor;
    more.hidden = !page.has_more;
  };
  more.addEventListener('click', () => void act(more, () => load(false)));
  const create = actionForm(
    { 'aria-labelledby': 'account-title' },
    async (form) => {
      const made = await api.call<{ account: Account; apiKey: { key: string } }>('POST', '/accounts', formValues(form, ['name', 'sipDomain'], { omitEmpty: true }));
      form.reset();
      await secretDialog('Account created', 'Its first API key', made.apiKey.key, 'Give this key to the account\'s admins now: it is shown once.');
      await load(true);
      return `Account ${made.account.name} created.`;
    },
    h('h2', { id: 'account-title' }, 'New account'),
    h('div', { class: 'grid' }, field('Name', h('input', { name: 'name', required: true, maxlength: 200 })), field('SIP domain', h('input', { name: 'sipDomain' }), 'Empty: SIP_DEFAULT_DOMAIN')),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create account')),
  );
  await load(true);
  return h(
    'section',
    { 'aria-labelledby': 'accounts-title' },
    h('h1', { id: 'accounts-title' }, 'Accounts'),
    h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Accounts, oldest first'), h('thead', {}, h('tr', {}, ['Name', 'SIP domain', 'Id', 'Created'].map((x) => h('th', { scope: 'col' }, x)))), tbody)),
    more,
    h('div', { class: 'card' }, create),
  );
}

interface SipBlock {
  address: string;
  since: string;
  until: string;
  reason: string;
  failures: number;
}

/** Operators: source addresses blocked after failed SIP authentications, and lifting a block. */
export async function blocksPage(ctx: PageContext): Promise<HTMLElement> {
  const { api } = ctx;
  const list = h('div', {});
  const load = async (): Promise<void> => {
    const blocks = await api.call<{ data: SipBlock[] }>('GET', '/sip-blocks');
    const now = Date.now();
    replace(
      list,
      blocks.data.length === 0
        ? h('p', {}, 'No address is blocked.')
        : table(
            'Blocked source addresses',
            ['Address', 'Since', 'Until', 'Reason', 'Failures', ''],
            blocks.data.map((b) => {
              const lift = confirmButton(
                'Unblock',
                { title: `Unblock ${b.address}?`, text: 'Its SIP requests are answered again at once.', confirm: 'Unblock' },
                async () => {
                  await api.call('DELETE', `/sip-blocks/${seg(b.address)}`);
                  await load();
                  return `${b.address} unblocked.`;
                },
                { 'aria-label': `Unblock ${b.address}` },
              );
              return [b.address, ago(b.since, now), b.until, b.reason, b.failures, lift];
            }),
          ),
    );
  };
  await load();
  return h('section', { 'aria-labelledby': 'blocks-title' }, h('h1', { id: 'blocks-title' }, 'SIP blocks'), list);
}
