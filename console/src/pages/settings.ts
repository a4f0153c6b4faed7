import { seg } from '../api';
import type { PageContext } from '../context';
import { field, h, secretDialog } from '../dom';
import { splitList } from '../format';
import { actionForm, confirmButton, formValues } from '../forms';

interface Account {
  id: string;
  name: string;
  sipDomain: string;
  sipServer: string | null;
  sipPort: number | null;
  outboundProxy: string | null;
  transportProtocol: string | null;
}

interface Provisioning {
  url: string;
  username: string;
  settings: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

const NUMBERS = ['sipPort'];
const PROVISIONING_NUMBERS = ['registrationExpiry', 'rtpPortMin', 'rtpPortMax', 'dscpRtp', 'dscpSip', 'backupPort'];
const str = (v: unknown): string => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v));

/** Numbers where the API wants them; other text as given ('' → null). */
function typed(values: Record<string, string | null>, numbers: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...values };
  for (const k of numbers) if (typeof out[k] === 'string') out[k] = /^\d+$/.test(out[k] as string) ? Number(out[k]) : out[k];
  return out;
}

export async function settingsPage(ctx: PageContext): Promise<HTMLElement> {
  const { api, accountId, who } = ctx;
  const accountPath = `/accounts/${seg(accountId)}`;
  const [account, prov] = await Promise.all([api.call<Account>('GET', accountPath), api.call<Provisioning>('GET', `${accountPath}/provisioning`)]);
  const operator = who.kind === 'operator';

  const sip = actionForm(
    { 'aria-labelledby': 'sip-title' },
    async (form) => {
      await api.call('PATCH', accountPath, typed(formValues(form, ['name', 'sipServer', 'sipPort', 'outboundProxy', 'transportProtocol']), NUMBERS));
      return 'Account saved.';
    },
    h('h2', { id: 'sip-title' }, 'Account and SIP settings'),
    h('p', {}, `SIP domain: ${account.sipDomain} (it cannot change).`),
    operator ? null : h('p', { class: 'muted' }, 'Only an operator key can change these.'),
    h(
      'fieldset',
      { disabled: !operator },
      h('legend', {}, 'What devices are told (empty: the configured default)'),
      h(
        'div',
        { class: 'grid' },
        field('Name', h('input', { name: 'name', value: account.name, required: true })),
        field('SIP server', h('input', { name: 'sipServer', value: str(account.sipServer) })),
        field('SIP port', h('input', { name: 'sipPort', value: str(account.sipPort), inputmode: 'numeric' })),
        field('Outbound proxy', h('input', { name: 'outboundProxy', value: str(account.outboundProxy) })),
        field('Transport', h('select', { name: 'transportProtocol' }, ['', 'UDP', 'TCP', 'TLS'].map((t) => h('option', { value: t, selected: str(account.transportProtocol) === t }, t || 'Default')))),
      ),
    ),
    h('p', { class: 'form-alert', role: 'alert' }),
    operator ? h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save account')) : null,
  );

  const s = prov.settings;
  const provForm = actionForm(
    { 'aria-labelledby': 'prov-title' },
    async (form) => {
      const v = typed(formValues(form, ['codecs', 'registrationExpiry', 'rtpPortMin', 'rtpPortMax', 'dscpRtp', 'dscpSip', 'backupServer', 'backupPort', 'ntpServer', 'utcOffset']), PROVISIONING_NUMBERS);
      v.codecs = typeof v.codecs === 'string' ? splitList(v.codecs).map((c) => c.toUpperCase()) : null;
      await api.call('PATCH', `${accountPath}/provisioning`, v);
      return 'Provisioning settings saved: phones get them at their next fetch.';
    },
    h('h2', { id: 'prov-title' }, 'Provisioning'),
    h('p', {}, 'Phones fetch their configuration from ', h('code', {}, prov.url), ' (DHCP option 66) with the username ', h('code', {}, prov.username), '. Empty fields return to the default.'),
    h(
      'div',
      { class: 'grid' },
      field('Codecs, in order', h('input', { name: 'codecs', value: str(s.codecs) }), 'PCMU, PCMA, G722, G729, OPUS'),
      field('Registration expiry (s)', h('input', { name: 'registrationExpiry', value: str(s.registrationExpiry), inputmode: 'numeric' })),
      field('Lowest RTP port', h('input', { name: 'rtpPortMin', value: str(s.rtpPortMin), inputmode: 'numeric' })),
      field('Highest RTP port', h('input', { name: 'rtpPortMax', value: str(s.rtpPortMax), inputmode: 'numeric' })),
      field('DSCP of RTP', h('input', { name: 'dscpRtp', value: str(s.dscpRtp), inputmode: 'numeric' })),
      field('DSCP of SIP', h('input', { name: 'dscpSip', value: str(s.dscpSip), inputmode: 'numeric' })),
      field('Backup server', h('input', { name: 'backupServer', value: str(s.backupServer) })),
      field('Backup port', h('input', { name: 'backupPort', value: str(s.backupPort), inputmode: 'numeric' })),
      field('NTP server', h('input', { name: 'ntpServer', value: str(s.ntpServer) })),
      field('UTC offset', h('input', { name: 'utcOffset', value: str(s.utcOffset) }), 'e.g. +01:00 (no daylight saving time)'),
    ),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save provisioning settings')),
  );

  const rotate = confirmButton(
    'New provisioning password',
    { title: 'Replace the provisioning password?', text: 'Phones using the old one can no longer fetch their configuration until they are given the new one.', confirm: 'Replace password' },
    async () => {
      const r = await api.call<{ password: string }>('POST', `${accountPath}/provisioning/rotate-password`);
      await secretDialog('New provisioning password', 'Password', r.password, 'Save it now: it is shown here once (the credentials route shows it again).');
      return 'Provisioning password replaced.';
    },
  );

  return h(
    'section',
    { 'aria-labelledby': 'settings-title' },
    h('h1', { id: 'settings-title' }, account.name),
    h('div', { class: 'card' }, sip),
    h('div', { class: 'card' }, provForm, h('div', { class: 'actions' }, rotate)),
  );
}
