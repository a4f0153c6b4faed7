import { seg } from '../api';
import { PageContext, routes } from '../context';
import { field, h, replace, secretDialog } from '../dom';
import { ago, LIVE_TYPES, registrationLabel } from '../format';
import { actionForm, formValues } from '../forms';
import { follow } from '../live';

export interface Device {
  id: string;
  accountId: string;
  name: string;
  model: string | null;
  manufacturer: string | null;
  macAddress: string | null;
  sipUsername: string;
  sipDomain: string;
  displayName: string | null;
  assignedUser: string | null;
  status: 'active' | 'inactive';
  registrationStatus: string;
  lastRegistration: string | null;
  ipAddress: string | null;
  lastFailure: { at: string; reason: string; sourceIp: string } | null;
  lastProvisioned?: string | null;
}

interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

const FILTERS = ['name', 'sipUsername', 'macAddress', 'assignedUser', 'status'] as const;
const POLL_MS = 15_000;

/** The cells of a device's row: its live state among them (updated in place). */
function rowCells(ctx: PageContext, d: Device, now: number): HTMLElement[] {
  const reg = registrationLabel(d.registrationStatus);
  return [
    h('td', {}, h('a', { href: routes.device(ctx.accountId, d.id) }, d.name)),
    h('td', {}, d.sipUsername),
    h('td', {}, h('span', { class: `badge ${reg.cls}`, 'data-testid': 'registration' }, reg.text)),
    h('td', {}, d.lastRegistration ? h('time', { datetime: d.lastRegistration, title: d.lastRegistration }, ago(d.lastRegistration, now)) : 'never'),
    h('td', {}, d.ipAddress ?? '—'),
    h('td', {}, d.lastFailure ? `${d.lastFailure.reason} (${ago(d.lastFailure.at, now)})` : '—'),
    h('td', {}, d.status === 'active' ? 'Active' : 'Inactive'),
  ];
}

export async function devicesPage(ctx: PageContext): Promise<HTMLElement> {
  const { api, accountId } = ctx;
  const base = `/accounts/${seg(accountId)}/devices/sip`;
  const rows = new Map<string, HTMLTableRowElement>();
  const tbody = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const liveState = h('p', { class: 'muted', role: 'status' }, 'Connecting to live updates…');
  const count = h('p', { class: 'muted' });
  let cursor: string | null = null;
  let query = new URLSearchParams();

  const putRow = (d: Device): void => {
    const tr = rows.get(d.id) ?? h('tr', { 'data-device-id': d.id });
    replace(tr, rowCells(ctx, d, Date.now()));
    if (!rows.has(d.id)) {
      rows.set(d.id, tr);
      tbody.append(tr);
    }
  };

  const load = async (reset: boolean): Promise<void> => {
    const q = new URLSearchParams(query);
    q.set('limit', '50');
    if (!reset && cursor) q.set('cursor', cursor);
    const page = await api.call<Page<Device>>('GET', `${base}?${q.toString()}`);
    if (reset) {
      rows.clear();
      tbody.replaceChildren();
    }
    page.data.forEach(putRow);
    cursor = page.next_cursor;
    more.hidden = !page.has_more;
    count.textContent = rows.size === 0 ? 'No devices match.' : `${rows.size} device${rows.size === 1 ? '' : 's'} shown${page.has_more ? ' (more to load)' : ''}.`;
  };

  const refreshOne = async (deviceId: string): Promise<void> => {
    if (!rows.has(deviceId)) return;
    try {
      putRow(await api.call<Device>('GET', `${base}/${seg(deviceId)}`));
    } catch {
      // deleted, or unreachable: the next poll or event says more
    }
  };

  // Live: events name the device whose state changed; without a stream, poll.
  let poll: number | null = null;
  const startPolling = (): void => {
    if (poll === null) poll = window.setInterval(() => void Promise.all([...rows.keys()].map(refreshOne)), POLL_MS);
  };
  const stop = follow(
    api,
    accountId,
    (e) => {
      if (e.deviceId && LIVE_TYPES.has(e.type)) void refreshOne(e.deviceId);
    },
    (live) => {
      liveState.textContent = live ? 'Live: updates as phones register.' : `Live updates interrupted; refreshing every ${POLL_MS / 1000} s.`;
      if (live && poll !== null) {
        window.clearInterval(poll);
        poll = null;
      } else if (!live) startPolling();
    },
  );
  ctx.onLeave(() => {
    stop();
    if (poll !== null) window.clearInterval(poll);
  });

  more.addEventListener('click', () => void load(false));

  // Filters: those the API offers, all exact but the name (a substring).
  const filters = actionForm(
    { class: 'filters', role: 'search', 'aria-label': 'Filter devices' },
    async (form) => {
      const v = formValues(form, [...FILTERS], { omitEmpty: true });
      query = new URLSearchParams(Object.entries(v).filter((x): x is [string, string] => x[1] !== null));
      cursor = null;
      await load(true);
    },
    field('Name contains', h('input', { name: 'name', type: 'search' })),
    field('SIP username', h('input', { name: 'sipUsername' })),
    field('MAC address', h('input', { name: 'macAddress' })),
    field('Assigned user', h('input', { name: 'assignedUser' })),
    field('Status', h('select', { name: 'status' }, h('option', { value: '' }, 'Any'), h('option', { value: 'active' }, 'Active'), h('option', { value: 'inactive' }, 'Inactive'))),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')),
  );

  const create = actionForm(
    { class: 'card', 'aria-labelledby': 'create-title' },
    async (form) => {
      const body = formValues(form, ['name', 'sipUsername', 'model', 'manufacturer', 'macAddress', 'displayName', 'assignedUser'], { omitEmpty: true });
      const made = await api.call<Device & { credentials: { sipPassword: string } }>('POST', base, body);
      form.reset();
      await secretDialog('Device created', 'SIP password', made.credentials.sipPassword, 'Save this password now: it will not be shown again here (an admin can read it later from the device\'s credentials, which is audited).');
      const { credentials: _c, ...device } = made;
      putRow(device);
      return `Device ${made.name} created.`;
    },
    h('h2', { id: 'create-title' }, 'New device'),
    h(
      'div',
      { class: 'grid' },
      field('Name', h('input', { name: 'name', required: true, maxlength: 200 })),
      field('SIP username', h('input', { name: 'sipUsername', required: true, maxlength: 64, autocomplete: 'off' }), 'Letters, digits and . _ ~ + -; cannot change later.'),
      field('Display name', h('input', { name: 'displayName', maxlength: 100 })),
      field('Assigned user', h('input', { name: 'assignedUser', maxlength: 100 })),
      field('Manufacturer', h('input', { name: 'manufacturer', maxlength: 100 }), 'For provisioning: Yealink, Polycom, Grandstream, Cisco, Snom or Fanvil.'),
      field('Model', h('input', { name: 'model', maxlength: 100 })),
      field('MAC address', h('input', { name: 'macAddress', maxlength: 17 })),
    ),
    h('p', { class: 'form-alert', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create device')),
  );

  await load(true);
  return h(
    'section',
    { 'aria-labelledby': 'devices-title' },
    h('h1', { id: 'devices-title' }, 'Devices'),
    liveState,
    filters,
    count,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'data-testid': 'devices' },
        h('caption', {}, 'Devices, oldest first (the order the API lists them in)'),
        h('thead', {}, h('tr', {}, ['Name', 'SIP username', 'Registration', 'Last registration', 'Address', 'Last failure', 'Status'].map((x) => h('th', { scope: 'col' }, x)))),
        tbody,
      ),
    ),
    more,
    h('details', {}, h('summary', {}, 'Create a device'), create),
  );
}
