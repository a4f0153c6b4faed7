// `npm run console:screenshots -- <operator key>`: screenshots of the console's main pages at
// 1280×800 and 390×844 into docs/console/, taken from a running stack (`npm start`) with
// Debian's Chromium. It adds a demo account with a few devices through the API first.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot } from '../shared/repo-paths';

const API = process.env.CONSOLE_API_URL ?? 'http://127.0.0.1:3000';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function call(key: string, method: string, path: string, body?: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- API JSON
  const res = await fetch(`${API}/v2${path}`, { method, headers: { 'X-Auth-Token': key, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function main(): Promise<void> {
  const operatorKey = process.argv[2] ?? process.env.ADMIN_API_KEY;
  if (!operatorKey) throw new Error('usage: npm run console:screenshots -- <operator key> (the key npm start printed, or ADMIN_API_KEY)');
  const suffix = Date.now().toString(36);
  const made = await call(operatorKey, 'POST', '/accounts', { name: 'Demo Telecom', sipDomain: `demo-${suffix}.example.com` });
  const accountId: string = made.account.id;
  const key: string = made.apiKey.key;
  const devices = [
    { name: 'Reception desk', sipUsername: 'reception', manufacturer: 'Yealink', model: 'T46S', macAddress: `00:15:65:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`, displayName: 'Reception', assignedUser: 'maria' },
    { name: 'Sales phone', sipUsername: 'sales1', manufacturer: 'Polycom', model: 'VVX 410', assignedUser: 'tom' },
    { name: 'Fax ATA', sipUsername: 'fax', manufacturer: 'Grandstream', model: 'HT802' },
  ];
  const ids: string[] = [];
  for (const d of devices) ids.push((await call(key, 'POST', `/accounts/${accountId}/devices/sip`, d)).id);
  const out = join(repoRoot(), 'docs', 'console');
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]] as const) {
      const page = await (await browser.newContext({ viewport })).newPage();
      await page.goto(`${API}/console/`);
      await page.screenshot({ path: join(out, `sign-in-${size}.png`) });
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
      await page.screenshot({ path: join(out, `devices-${size}.png`), fullPage: true });
      await page.goto(`${API}/console/#/a/${accountId}/devices/${ids[0]}`);
      await page.getByRole('heading', { name: 'Reception desk', level: 1 }).waitFor();
      await page.screenshot({ path: join(out, `device-${size}.png`), fullPage: size === 'desktop' });
      await page.goto(`${API}/console/#/a/${accountId}/settings`);
      await page.getByRole('heading', { name: 'Demo Telecom', level: 1 }).waitFor();
      await page.screenshot({ path: join(out, `account-${size}.png`), fullPage: size === 'desktop' });
    }
  } finally {
    await browser.close();
  }
  console.log(`screenshots written to ${out} (demo account ${accountId})`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
