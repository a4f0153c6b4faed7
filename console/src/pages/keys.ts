import { seg } from '../api';
import type { PageContext } from '../context';
import { field, h, replace, secretDialog, table } from '../dom';
import { ago } from '../format';
import { actionForm, confirmButton, formValues } from '../forms';

interface ApiKey {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export async function keysPage(ctx: PageContext): Promise<HTMLElement> {
  const { api, accountId, who } = ctx;
  const base = `/accounts/${seg(accountId)}/api-keys`;
  const list = h('div', {});
  const load = async (): Promise<void> => {
    const keys = await api.call<{ data: ApiKey[] }>('GET', base);
    const now = Date.now();
    replace(
      list,
      table(
        'API keys of this account',
        ['Name', 'Id', 'Created', 'Last used', 'State', ''],
        keys.data.map((k) => {
          const self = k.id === who.keyId;
          const revoke = confirmButton(
            'Revoke',
            { title: `Revoke ${k.name}?`, text: self ? 'This is the key you are signed in with: you will be signed out.' : 'Anything using it stops working.', confirm: 'Revoke key' },
            async () => {
              await api.call('DELETE', `${base}/${seg(k.id)}`);
              await load();
              return `Key ${k.name} revoked.`;
            },
            { class: 'danger', 'aria-label': `Revoke ${k.name}` },
          );
          return [k.name, h('code', {}, k.id), ago(k.createdAt, now), ago(k.lastUsedAt, now), k.revokedAt ? `Revoked ${ago(k.revokedAt, now)}` : 'Active', k.revokedAt ? null : revoke];
        }),
      ),
    );
  };
  const create = actionForm(
    { 'aria-labelledby': 'key-title' },
    async (form) => {
      const made = await api.call<{ name: string; key: string }>('POST', base, formValues(form, ['name'], { omitEmpty: true }));
      form.reset();
      await secretDialog('API key created', 'Key', made.key, 'Save this key now: it is shown once and cannot be read again.');
      await load();
      return `Key ${made.name} created.`;
    },
    h('h2', { id: 'key-title' }, 'New key'),
    field('Name', h('input', { name: 'name', maxlength: 200 })),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create key')),
  );
  await load();
  return h('section', { 'aria-labelledby': 'keys-title' }, h('h1', { id: 'keys-title' }, 'API keys'), list, h('div', { class: 'card' }, create));
}
