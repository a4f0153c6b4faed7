import { Api, ApiError } from '../api';
import { busy, field, h } from '../dom';
import { Principal, saveSession } from '../session';

/** Sign-in with an API key (account or operator): checked with /v2/whoami, then kept in sessionStorage. */
export function signInPage(message: string | null, done: (who: Principal) => void): HTMLElement {
  const input = h('input', { name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const alert = h('p', { class: 'form-alert', role: 'alert' }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const key = input.value.trim();
        if (!key) {
          alert.textContent = 'Enter an API key.';
          input.focus();
          return;
        }
        void busy(submit, async () => {
          alert.textContent = '';
          const api = new Api(key, () => undefined);
          try {
            const who = await api.call<Principal>('GET', '/whoami');
            saveSession(key, who);
            input.value = '';
            done(who);
          } catch (err) {
            alert.textContent = err instanceof ApiError && err.status === 401 ? 'This key is not valid (unknown, revoked or mistyped).' : err instanceof Error ? err.message : 'Sign-in failed.';
            input.focus();
          }
        });
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Use an API key of your account, or an operator key. It is kept in this tab only and sent to the API in a header.'),
    field('API key', input),
    alert,
    h('div', { class: 'actions' }, submit),
  );
  return form;
}
