import { ApiError } from './api';
import { Attrs, busy, Child, clearErrors, confirmDialog, h, showErrors, toast } from './dom';
import { fieldErrors } from './format';

/**
 * Runs a form's action: the submit button shows it is busy, the API's problem lands
 * next to the fields it names (and in words in the form's alert), success is said.
 */
export async function submitForm(form: HTMLFormElement, work: () => Promise<string | void>): Promise<boolean> {
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  clearErrors(form);
  try {
    const message = await busy(button, work);
    if (message) toast(message);
    return true;
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.status !== 401) showErrors(form, fieldErrors(err.problem), err.message);
    } else {
      showErrors(form, new Map(), err instanceof Error ? err.message : 'Failed.');
    }
    return false;
  }
}

/** Runs a button's action with feedback: busy while it runs, a toast after, the error in words. */
export async function act(button: HTMLButtonElement | null, work: () => Promise<string | void>): Promise<boolean> {
  try {
    const message = await busy(button, work);
    if (message) toast(message);
    return true;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) toast(err instanceof Error ? err.message : 'Failed.', 'error');
    return false;
  }
}

/** The form's fields as the API takes them: '' becomes null (clears), unless `keepEmpty`. */
export function formValues(form: HTMLFormElement, names: string[], opts: { omitEmpty?: boolean } = {}): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of names) {
    const el = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    if (!el) continue;
    const v = el.value.trim();
    if (v === '' && opts.omitEmpty) continue;
    out[name] = v === '' ? null : v;
  }
  return out;
}

/** A form whose submit runs `work` through submitForm (the form is passed in, for its values). */
export function actionForm(attrs: Attrs, work: (form: HTMLFormElement) => Promise<string | void>, ...children: Child[]): HTMLFormElement {
  const form: HTMLFormElement = h(
    'form',
    {
      ...attrs,
      onsubmit: (e: Event) => {
        e.preventDefault();
        void submitForm(form, () => work(form));
      },
    },
    ...children,
  );
  return form;
}

interface Question {
  title: string;
  text: string;
  confirm: string;
}

/** A button that asks first (a modal dialog), then runs `work` with feedback. `done` runs after a success. */
export function confirmButton(label: string, question: Question | (() => Question), work: () => Promise<string | void>, attrs: Attrs = {}, done?: () => void): HTMLButtonElement {
  const button: HTMLButtonElement = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', () => {
    void (async () => {
      const q = typeof question === 'function' ? question() : question;
      if (!(await confirmDialog(q.title, q.text, q.confirm))) return;
      if ((await act(button, work)) && done) done();
    })();
  });
  return button;
}
