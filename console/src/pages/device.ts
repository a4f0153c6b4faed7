import { seg } from '../api';
import { PageContext, routes } from '../context';
import { confirmDialog, field, h, replace, secretDialog, table } from '../dom';
import { ago, LIVE_TYPES, registrationLabel, remaining } from '../format';
import { act, actionForm, confirmButton, formValues, submitForm } from '../forms';
import { follow, LiveEvent } from '../live';
import type { Device } from './devices';

interface Registration {
  id: string;
  contact: string;
  expiresAt: string;
  sourceAddress: string;
  sourcePort: number;
  transport: string;
  userAgent: string;
}

interface Credentials {
  sipServer: string;
  sipPort: number;
  sipUsername: string;
  sipPassword: string;
  sipDomain: string;
  outboundProxy: string;
  transportProtocol: string;
  provisioning: { url: string; username: string; password: string; tokenUrl: string | null } | null;
}

interface Preview {
  url: string;
  vendor: string | null;
  problem: string | null;
  file: { name: string; url: string; content: string } | null;
}

const dl = (pairs: [string, string | Node][]): HTMLElement => h('dl', {}, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

export async function devicePage(ctx: PageContext, deviceId: string): Promise<HTMLElement> {
  const { api, accountId } = ctx;
  const path = `/accounts/${seg(accountId)}/devices/sip/${seg(deviceId)}`;
  let device = await api.call<Device>('GET', path);

  const title = h('h1', { id: 'device-title' }, device.name);
  const details = h('div', {});
  const bindings = h('div', {});
  const history = h('div', {});

  const showDetails = (): void => {
    const reg = registrationLabel(device.registrationStatus);
    const now = Date.now();
    title.textContent = device.name;
    replace(
      details,
      dl([
        ['Registration', h('span', { class: `badge ${reg.cls}`, 'data-testid': 'registration' }, reg.text)],
        ['Last registration', device.lastRegistration ? `${ago(device.lastRegistration, now)} (${device.lastRegistration})` : 'never'],
        ['Address', device.ipAddress ?? '—'],
        ['Last failure', device.lastFailure ? `${device.lastFailure.reason} from ${device.lastFailure.sourceIp}, ${ago(device.lastFailure.at, now)}` : '—'],
        ['SIP username', device.sipUsername],
        ['SIP domain', device.sipDomain],
        ['Display name', device.displayName ?? '—'],
        ['Assigned user', device.assignedUser ?? '—'],
        ['Status', device.status === 'active' ? 'Active' : 'Inactive'],
        ['Manufacturer / model', `${device.manufacturer ?? '—'} / ${device.model ?? '—'}`],
        ['MAC address', device.macAddress ?? '—'],
        ['Last provisioned', device.lastProvisioned ? ago(device.lastProvisioned, now) : 'never'],
      ]),
    );
  };

  const loadBindings = async (): Promise<void> => {
    const regs = await api.call<{ data: Registration[] }>('GET', `${path}/registrations`);
    const now = Date.now();
    replace(
      bindings,
      regs.data.length === 0
        ? h('p', {}, 'No live bindings.')
        : table(
            'Live bindings',
            ['Contact', 'Source', 'Transport', 'User-Agent', 'Expires in'],
            regs.data.map((r) => [r.contact, `${r.sourceAddress}:${r.sourcePort}`, r.transport, r.userAgent || '—', remaining(r.expiresAt, now)]),
          ),
    );
  };

  const loadHistory = async (): Promise<void> => {
    const events = await api.call<{ data: LiveEvent[] }>('GET', `${path}/events?limit=20`);
    const now = Date.now();
    const describe = (e: LiveEvent): string => {
      const d = e.data;
      const bits = [d.reason, d.sourceIp && `from ${String(d.sourceIp)}`, d.userAgent && `(${String(d.userAgent)})`, d.status && `status ${String(d.status)}`].filter(Boolean);
      return bits.map(String).join(' ');
    };
    replace(history, events.data.length === 0 ? h('p', {}, 'Nothing yet.') : table('Latest events, newest first', ['When', 'Event', 'Details'], events.data.map((e) => [h('time', { datetime: e.at, title: e.at }, ago(e.at, now)), e.type, describe(e)])));
  };

  const refresh = async (): Promise<void> => {
    try {
      device = await api.call<Device>('GET', path);
      showDetails();
      await Promise.all([loadBindings(), loadHistory()]);
    } catch {
      // gone or unreachable: the next event or action tells
    }
  };

  const stop = follow(api, accountId, (e) => {
    if (e.deviceId === deviceId && (LIVE_TYPES.has(e.type) || e.type.startsWith('device.'))) void refresh();
  }, () => undefined);
  // Binding countdowns move on their own.
  const tick = window.setInterval(() => void loadBindings().catch(() => undefined), 30_000);
  ctx.onLeave(() => {
    stop();
    window.clearInterval(tick);
  });

  // ---- edit ----
  const edit = actionForm(
    { 'aria-labelledby': 'edit-title' },
    async (form) => {
      const body = formValues(form, ['name', 'displayName', 'assignedUser', 'status', 'manufacturer', 'model', 'macAddress']);
      if (body.name === null) delete body.name;
      device = await api.call<Device>('PATCH', path, body);
      showDetails();
      return 'Saved.';
    },
    h('h2', { id: 'edit-title' }, 'Edit'),
    h(
      'div',
      { class: 'grid' },
      field('Name', h('input', { name: 'name', value: device.name, required: true, maxlength: 200 })),
      field('Display name', h('input', { name: 'displayName', value: device.displayName ?? '', maxlength: 100 })),
      field('Assigned user', h('input', { name: 'assignedUser', value: device.assignedUser ?? '', maxlength: 100 })),
      field('Status', h('select', { name: 'status' }, h('option', { value: 'active', selected: device.status === 'active' }, 'Active'), h('option', { value: 'inactive', selected: device.status === 'inactive' }, 'Inactive'))),
      field('Manufacturer', h('input', { name: 'manufacturer', value: device.manufacturer ?? '', maxlength: 100 })),
      field('Model', h('input', { name: 'model', value: device.model ?? '', maxlength: 100 })),
      field('MAC address', h('input', { name: 'macAddress', value: device.macAddress ?? '', maxlength: 17 })),
    ),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save changes')),
  );

  // ---- credentials (revealed on click, audited by the API) ----
  const creds = h('div', { 'data-testid': 'credentials' });
  const reveal = h('button', { type: 'button', 'aria-expanded': 'false' }, 'Show credentials');
  reveal.addEventListener('click', () => {
    if (reveal.getAttribute('aria-expanded') === 'true') {
      creds.replaceChildren();
      reveal.textContent = 'Show credentials';
      reveal.setAttribute('aria-expanded', 'false');
      return;
    }
    void act(reveal, async () => {
      const c = await api.call<Credentials>('GET', `${path}/credentials`);
      replace(
        creds,
        dl([
          ['SIP server', `${c.sipServer}:${c.sipPort}`],
          ['Transport', c.transportProtocol],
          ['Outbound proxy', c.outboundProxy],
          ['Username', c.sipUsername],
          ['Password', h('code', { 'data-testid': 'sip-password' }, c.sipPassword)],
          ['Domain', c.sipDomain],
          ['Provisioning URL (DHCP option 66)', c.provisioning?.url ?? '—'],
          ['Provisioning username', c.provisioning?.username ?? '—'],
          ['Provisioning password', c.provisioning ? h('code', {}, c.provisioning.password) : '—'],
        ]),
        h('p', { class: 'muted' }, 'This view was recorded in the device\'s history.'),
      );
      reveal.setAttribute('aria-expanded', 'true');
      reveal.textContent = 'Hide credentials';
    });
  });

  // ---- reset password ----
  const reset = h(
    'form',
    {
      'aria-labelledby': 'reset-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void (async () => {
          if (!(await confirmDialog('Reset the SIP password?', 'The phone must be given the new password to register again.', 'Reset password'))) return;
          await submitForm(reset, async () => {
            const grace = Number((reset.elements.namedItem('gracePeriodSeconds') as HTMLInputElement).value || '0');
            const r = await api.call<{ sipPassword: string; expiresAt: string }>('POST', `${path}/reset-password`, { gracePeriodSeconds: grace });
            await secretDialog('New SIP password', 'SIP password', r.sipPassword, `Save it now: it is not shown again here. The old password stops working at ${r.expiresAt}.`);
            await refresh();
            return 'Password reset.';
          });
        })();
      },
    },
    h('h2', { id: 'reset-title' }, 'Reset password'),
    field('Keep the old password working for (seconds)', h('input', { name: 'gracePeriodSeconds', type: 'number', min: 0, max: 604800, value: '0', inputmode: 'numeric' }), '0 stops it at once and removes the live bindings.'),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Reset password')),
  );

  // ---- kick ----
  const kick = confirmButton(
    'Force re-register',
    { title: 'Remove every binding?', text: 'The phone must register again; calls to it fail until it does.', confirm: 'Force re-register' },
    async () => {
      await api.call('DELETE', `${path}/registrations`);
      await refresh();
      return 'Bindings removed: the phone must register again.';
    },
  );

  // ---- provisioning preview ----
  const provisioning = h('div', {});
  const showPreview = h('button', { type: 'button' }, 'Show provisioning preview');
  showPreview.addEventListener('click', () => {
    void act(showPreview, async () => {
      const p = await api.call<Preview>('GET', `${path}/provisioning`);
      replace(
        provisioning,
        dl([
          ['Point phones at (DHCP option 66)', p.url],
          ['Vendor', p.vendor ?? '—'],
          ['File', p.file ? p.file.url : '—'],
        ]),
        p.problem ? h('p', { role: 'alert' }, p.problem) : null,
        p.file ? h('pre', { class: 'file', tabindex: 0, 'aria-label': `Preview of ${p.file.name} (password masked)` }, p.file.content) : null,
      );
    });
  });

  // ---- delete ----
  const del = confirmButton(
    'Delete device',
    () => ({ title: `Delete ${device.name}?`, text: 'Its registrations end and it cannot register again. This cannot be undone.', confirm: 'Delete device' }),
    async () => {
      await api.call('DELETE', path);
      return `Device ${device.name} deleted.`;
    },
    { class: 'danger' },
    () => ctx.go(routes.devices(accountId)),
  );

  showDetails();
  await Promise.all([loadBindings(), loadHistory()]);
  return h(
    'section',
    { 'aria-labelledby': 'device-title' },
    h('p', {}, h('a', { href: routes.devices(accountId) }, '← Devices')),
    title,
    details,
    h('section', { class: 'card', 'aria-labelledby': 'bindings-title' }, h('h2', { id: 'bindings-title' }, 'Registrations'), bindings, h('div', { class: 'actions' }, kick)),
    h('section', { class: 'card', 'aria-labelledby': 'creds-title' }, h('h2', { id: 'creds-title' }, 'Credentials'), h('div', { class: 'actions' }, reveal), creds),
    h('div', { class: 'card' }, edit),
    h('div', { class: 'card' }, reset),
    h('section', { class: 'card', 'aria-labelledby': 'prov-title' }, h('h2', { id: 'prov-title' }, 'Provisioning'), h('div', { class: 'actions' }, showPreview), provisioning),
    h('section', { class: 'card', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'), history),
    h('section', { class: 'card danger-zone', 'aria-labelledby': 'delete-title' }, h('h2', { id: 'delete-title' }, 'Delete'), h('div', { class: 'actions' }, del)),
  );
}
