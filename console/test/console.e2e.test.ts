import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { Harness, startHarness } from '../../api/test/helpers/harness';
import { Phone, SipClient, Stack, startStack } from '../../registrar/test/support';
import { until } from '../../shared/testing/wait';
import { buildConsole } from '../build';

// The console in a real headless Chromium (Debian's package; scripts/test.sh installs it),
// served by a real API over the registrar stack's schema, with a real SIP client registering.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let stack: Stack;
let h: Harness;
let sip: SipClient;
let browser: Browser;
let accountKey: string;
let base: string;
/** Every request the pages made, to check that none left this origin. */
const requested: string[] = [];
/** Browser dialogs (alert, confirm) opened by a page: an XSS payload would open one. */
const nativeDialogs: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium; scripts/test.sh does it)`);
  const { outDir } = await buildConsole(mkdtempSync(join(tmpdir(), 'console-')));
  stack = await startStack();
  h = await startHarness({ API_SSE_HEARTBEAT_S: '1' }, { shared: { db: stack.db, prefix: stack.prefix }, consoleDir: outDir });
  base = `${h.baseUrl}/console/`;
  const key = await h.req('POST', `/v2/accounts/${stack.accountId}/api-keys`, { body: { name: 'console e2e' } });
  accountKey = key.body.key;
  sip = await SipClient.udp(stack.udp);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  sip?.close();
  await h?.close();
  await stack?.stop();
});

async function newPage(viewport = { width: 1280, height: 800 }): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('dialog', (d) => {
    nativeDialogs.push(d.message());
    void d.dismiss();
  });
  return { page, context };
}

/** Signs in with the keyboard only: Tab to the field, type, Enter. */
async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(base);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.keyboard.press('Tab'); // skip link
  await page.keyboard.press('Tab');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

const deviceRow = (page: Page, name: string) => page.locator('tr', { has: page.getByRole('link', { name, exact: true }) });

/** axe-core in the page; the serious and critical violations. */
async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  // A string: this file is compiled without the DOM's types.
  const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('the console', () => {
  it('sign in, create a device (password once), watch it register live, edit, reset the password, kick, delete', async () => {
    const { page, context } = await newPage();
    await signIn(page, accountKey);
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.getByText('Live: updates as phones register.').waitFor();

    await page.getByText('Create a device').click();
    await page.getByLabel('Name', { exact: true }).last().fill('Front desk');
    await page.getByLabel('SIP username').last().fill('frontdesk');
    await page.getByRole('button', { name: 'Create device' }).click();
    const dialog = page.getByRole('dialog', { name: 'Device created' });
    await dialog.waitFor();
    await expectText(dialog, 'will not be shown again');
    const password = (await dialog.getByTestId('secret').textContent())!;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    await dialog.getByRole('button', { name: 'I have saved it' }).click();
    const row = deviceRow(page, 'Front desk');
    await expectText(row.getByTestId('registration'), 'Never registered');
    // The password is nowhere on the page once the dialog is closed.
    expect(await page.content()).not.toContain(password);

    // A real phone registers: the row turns Registered without a reload.
    const phone = new Phone(sip, 'frontdesk', password);
    expect((await phone.register()).final?.status).toBe(200);
    await expectText(row.getByTestId('registration'), 'Registered', 10_000);
    await expectText(row, '127.0.0.1');

    // Device page: edit.
    await row.getByRole('link', { name: 'Front desk' }).click();
    await page.getByRole('heading', { name: 'Front desk', level: 1 }).waitFor();
    await page.getByRole('table', { name: 'Live bindings' }).waitFor();
    await page.getByLabel('Display name').fill('Reception');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expectText(page.locator('#toast'), 'Saved.');
    await page.locator('dd', { hasText: 'Reception' }).waitFor();

    // Credentials: revealed on click, hidden again.
    await page.getByRole('button', { name: 'Show credentials' }).click();
    await expectText(page.getByTestId('sip-password'), password);
    await page.getByRole('button', { name: 'Hide credentials' }).click();
    expect(await page.getByTestId('sip-password').count()).toBe(0);

    // Reset with a grace period: the new password, and when the old one stops.
    await page.getByLabel('Keep the old password working for (seconds)').fill('600');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('dialog', { name: 'Reset the SIP password?' }).getByRole('button', { name: 'Reset password' }).click();
    const reset = page.getByRole('dialog', { name: 'New SIP password' });
    await reset.waitFor();
    const newPassword = (await reset.getByTestId('secret').textContent())!;
    expect(newPassword).not.toBe(password);
    await expectText(reset, 'The old password stops working at');
    await reset.getByRole('button', { name: 'I have saved it' }).click();

    // Kick: every binding removed, the page says so.
    await page.getByRole('button', { name: 'Force re-register' }).click();
    await page.getByRole('dialog', { name: 'Remove every binding?' }).getByRole('button', { name: 'Force re-register' }).click();
    await page.getByText('No live bindings.').waitFor();
    expect((await h.req('GET', `/v2/accounts/${stack.accountId}/devices/sip`, { token: accountKey })).body.data[0].registrationStatus).toBe('unregistered');

    // Delete, confirmed: back to the list, the device gone.
    await page.getByRole('button', { name: 'Delete device' }).click();
    await page.getByRole('dialog', { name: 'Delete Front desk?' }).getByRole('button', { name: 'Delete device' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await expectText(page.locator('#toast'), 'deleted');
    expect(await deviceRow(page, 'Front desk').count()).toBe(0);
    await context.close();
  }, 90_000);

  it('shows the API\'s problems next to the field that caused them, and keeps what was typed', async () => {
    await h.req('POST', `/v2/accounts/${stack.accountId}/devices/sip`, { token: accountKey, body: { name: 'Taken', sipUsername: 'taken1' } });
    const { page, context } = await newPage();
    await signIn(page, accountKey);
    await page.getByText('Create a device').click();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Create device' }) });
    await form.getByLabel('Name', { exact: true }).fill('Second');
    await form.getByLabel('SIP username').fill('taken1');
    await form.getByRole('button', { name: 'Create device' }).click();
    await expectText(form.locator('[data-error-for="sipUsername"]'), 'already exists');
    expect(await form.getByLabel('SIP username').getAttribute('aria-invalid')).toBe('true');
    await expectText(form.getByRole('alert'), 'already exists');
    await form.getByLabel('SIP username').fill('second1');
    await form.getByLabel('MAC address').fill('not-a-mac');
    await form.getByRole('button', { name: 'Create device' }).click();
    await until(async () => ((await form.locator('[data-error-for="macAddress"]').textContent()) ?? '') !== '', 5000, 'MAC error');
    expect(await form.locator('[data-error-for="sipUsername"]').textContent()).toBe('');
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe('Second');
    await context.close();
  });

  it('a revoked key sends the user back to sign-in with a message', async () => {
    const made = await h.req('POST', `/v2/accounts/${stack.accountId}/api-keys`, { body: { name: 'to revoke' } });
    const { page, context } = await newPage();
    await signIn(page, made.body.key);
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    expect((await h.req('DELETE', `/v2/accounts/${stack.accountId}/api-keys/${made.body.id}`)).status).toBe(204);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectText(page.getByRole('alert'), 'expired or was revoked');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await context.close();
  });

  it('a wrong key is refused in words; sign-out clears the key', async () => {
    const { page, context } = await newPage();
    await signIn(page, 'sk_key_nope_nope');
    await expectText(page.getByRole('alert'), 'not valid');
    await signIn(page, accountKey);
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await context.close();
  });

  it('shows a device named like markup as text, and another account\'s device id as not found', async () => {
    const xss = '<img src=x onerror=alert(1)>';
    const created = await h.req('POST', `/v2/accounts/${stack.accountId}/devices/sip`, { token: accountKey, body: { name: xss, sipUsername: 'xss1', displayName: '"><script>alert(2)</script>' } });
    expect(created.status).toBe(201);
    const other = await h.createAccount('Other tenant', 'other.example.com');
    const foreign = await h.req('POST', `/v2/accounts/${other.accountId}/devices/sip`, { token: other.key, body: { name: 'Not yours', sipUsername: 'notyours' } });
    const { page, context } = await newPage();
    await signIn(page, accountKey);
    const link = page.getByRole('link', { name: xss, exact: true });
    await link.waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    await link.click();
    await page.getByRole('heading', { name: xss, level: 1 }).waitFor();
    await page.locator('dd', { hasText: '<script>alert(2)</script>' }).waitFor();
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(nativeDialogs).toEqual([]);

    // Another account's device, typed into the URL (under this account or the other's).
    await page.goto(`${base}#/a/${stack.accountId}/devices/${foreign.body.id}`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.goto(`${base}#/a/${other.accountId}/devices/${foreign.body.id}`);
    await page.getByRole('heading', { name: /Not found|Could not load/ }).waitFor();
    expect(await page.content()).not.toContain('Not yours');
    await context.close();
  });

  it('every page has no serious or critical accessibility violation (axe-core), at 1280×800 and 390 px wide', async () => {
    const device = await h.req('POST', `/v2/accounts/${stack.accountId}/devices/sip`, { token: accountKey, body: { name: 'Axe phone', sipUsername: 'axe1', manufacturer: 'Yealink', macAddress: '00:15:65:00:0a:0e' } });
    for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const { page, context } = await newPage(viewport);
      const found: Record<string, string[]> = {};
      await page.goto(base);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      found.signIn = await axeViolations(page);
      // Operator pages with the admin key; account pages as the operator of this account.
      await signIn(page, h.adminKey);
      await page.getByRole('heading', { name: 'Accounts' }).waitFor();
      found.accounts = await axeViolations(page);
      for (const [name, route, heading] of [
        ['blocks', '#/blocks', 'SIP blocks'],
        ['devices', `#/a/${stack.accountId}/devices`, 'Devices'],
        ['device', `#/a/${stack.accountId}/devices/${device.body.id}`, 'Axe phone'],
        ['settings', `#/a/${stack.accountId}/settings`, 'Test account'],
        ['keys', `#/a/${stack.accountId}/keys`, 'API keys'],
      ] as const) {
        await page.goto(`${base}${route}`);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        found[name] = await axeViolations(page);
        // Nothing wider than the screen at 390 px.
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
      }
      expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
      await context.close();
    }
  }, 90_000);

  it('the device page shows the provisioning URL and preview with the password masked', async () => {
    const created = await h.req('POST', `/v2/accounts/${stack.accountId}/devices/sip`, { token: accountKey, body: { name: 'Yealink desk', sipUsername: 'prov1', manufacturer: 'Yealink', macAddress: '00:15:65:00:0b:01' } });
    const { page, context } = await newPage();
    await signIn(page, accountKey);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.goto(`${base}#/a/${stack.accountId}/devices/${created.body.id}`);
    await page.getByRole('button', { name: 'Show provisioning preview' }).click();
    const file = page.locator('pre.file');
    await expectText(file, 'account.1.user_name = prov1');
    await expectText(file, 'account.1.password = ********');
    expect(await file.textContent()).not.toContain(created.body.credentials.sipPassword);
    await context.close();
  });

  it('answers with a strict CSP and no framing, and the pages made no request off this origin', async () => {
    const res = await fetch(base, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style>|\sstyle="|\son\w+="/);
    const redirect = await fetch(`${h.baseUrl}/console`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/console/']);
    expect((await fetch(`${base}nothing.js`)).status).toBe(404);
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((u) => !u.startsWith(h.baseUrl))).toEqual([]);
  });
});

async function expectText(locator: ReturnType<Page['locator']>, text: string, timeoutMs = 5000): Promise<void> {
  await until(async () => ((await locator.first().textContent()) ?? '').includes(text), timeoutMs, `"${text}"`);
}
