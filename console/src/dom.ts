/**
 * The only way the console makes elements: `h(tag, attributes, ...children)`. Every
 * string becomes a text node (never HTML), so a value from the API is always shown
 * as text; `on*` attributes take functions (no inline script for the CSP).
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (e: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let fieldIds = 0;

/** A labelled input with a place for its error; `name` is the API's field name. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLDivElement {
  const id = input.id || `f${++fieldIds}`;
  input.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { id: hintId! }, hint) : null, h('span', { class: 'error', id: errorId, 'data-error-for': input.getAttribute('name') ?? '' }));
}

/** Shows the API's errors next to the fields they name; the rest in the form's alert. Returns whether any field took one. */
export function showErrors(form: HTMLElement, errors: Map<string, string>, summary: string): void {
  clearErrors(form);
  for (const [name, message] of errors) {
    const slot = name ? form.querySelector<HTMLElement>(`[data-error-for="${CSS.escape(name)}"]`) : null;
    const input = name ? form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`) : null;
    if (slot) {
      slot.textContent = message;
      input?.setAttribute('aria-invalid', 'true');
    }
  }
  const alert = form.querySelector<HTMLElement>('.form-alert');
  if (alert) alert.textContent = summary;
}

export function clearErrors(form: HTMLElement): void {
  form.querySelectorAll<HTMLElement>('[data-error-for]').forEach((e) => (e.textContent = ''));
  form.querySelectorAll<HTMLElement>('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const alert = form.querySelector<HTMLElement>('.form-alert');
  if (alert) alert.textContent = '';
}

/** A short message in the live region at the bottom. */
export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = document.getElementById('toast');
  if (!el) return;
  el.className = kind;
  el.textContent = message;
  window.setTimeout(() => {
    if (el.textContent === message) el.textContent = '';
  }, 6000);
}

/** A modal question (a real <dialog>: focus is trapped and Escape cancels). Resolves true on confirm. */
export function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-title' });
    const done = (v: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(v);
    };
    dialog.append(
      h('h2', { id: 'confirm-title' }, title),
      h('p', {}, text),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => done(false) }, 'Cancel'), h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, confirmLabel)),
    );
    dialog.addEventListener('cancel', () => done(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Shows a secret once, with a copy button and the warning that it is not shown again. */
export function secretDialog(title: string, label: string, secret: string, note: string): Promise<void> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'secret-title', class: 'secret' });
    const status = h('span', { role: 'status' });
    const close = (): void => {
      dialog.close();
      dialog.remove();
      resolve();
    };
    dialog.append(
      h('h2', { id: 'secret-title' }, title),
      h('p', { class: 'warning' }, note),
      h('p', {}, h('span', { class: 'label' }, `${label}: `), h('code', { class: 'secret-value', 'data-testid': 'secret' }, secret)),
      h(
        'div',
        { class: 'actions' },
        h('button', {
          type: 'button',
          onclick: () => {
            navigator.clipboard?.writeText(secret).then(
              () => (status.textContent = 'Copied.'),
              () => (status.textContent = 'Copy failed: select the text and copy it.'),
            );
          },
        }, 'Copy'),
        status,
        h('button', { type: 'button', class: 'primary', onclick: close }, 'I have saved it'),
      ),
    );
    dialog.addEventListener('cancel', (e) => e.preventDefault());
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A table with a caption and headers; rows of cells. */
export function table(caption: string, headers: string[], rows: Child[][], attrs: Attrs = {}): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))),
    ),
  );
}

/** Disables a button while `work` runs (feedback for every action). */
export async function busy<T>(button: HTMLButtonElement | null, work: () => Promise<T>): Promise<T> {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await work();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}
