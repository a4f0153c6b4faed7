import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../repo-paths';
import type { SipDefaults } from '../sip-connection';
import { phoneConfig } from './phone-config';
import type { ProvisioningRecord } from './provisioning-store';
import { compileTemplate, renderTemplate, Template } from './render';
import { compactMac, RequestedFile } from './requests';
import { Vendor, VendorFile, vendorFor } from './vendors';

/** A file as served. */
export interface RenderedFile {
  vendor: string;
  name: string;
  contentType: string;
  body: string;
}

export type FileOutcome =
  | { kind: 'ok'; file: RenderedFile }
  | { kind: 'unknown_manufacturer' }
  | { kind: 'not_for_vendor'; vendor: string };

/** The repository's template folder (shared/provisioning/templates). */
function templatesDir(): string {
  const dir = repoPath('shared', 'provisioning', 'templates');
  if (!dir) throw new Error('provisioning templates not found (shared/provisioning/templates)');
  return dir;
}

const compiled = new Map<string, Template>();

/** The compiled template of a vendor file (read once per process). */
export function templateOf(file: VendorFile): Template {
  let t = compiled.get(file.template);
  if (!t) {
    t = compileTemplate(readFileSync(join(templatesDir(), file.template), 'utf8'), file.format);
    compiled.set(file.template, t);
  }
  return t;
}

/** Renders one of a vendor's files for a device. */
export function renderVendorFile(vendor: Vendor, file: VendorFile, record: ProvisioningRecord, password: string, defaults: SipDefaults): RenderedFile {
  const phone = phoneConfig(record, password, defaults);
  const body = renderTemplate(templateOf(file), vendor.view(file.kind, phone, record.model));
  return { vendor: vendor.id, name: file.name, contentType: file.contentType, body: file.lineEnding === 'crlf' ? body.replace(/\r?\n/g, '\r\n') : body };
}

/** The vendor's files for a device (the main one first), or null when no vendor matches its manufacturer. */
export function deviceFiles(record: ProvisioningRecord): { vendor: Vendor; files: VendorFile[] } | null {
  const vendor = vendorFor(record.manufacturer);
  if (!vendor) return null;
  return { vendor, files: vendor.files(record.macAddress ? compactMac(record.macAddress) : '000000000000', record.model) };
}

/**
 * The file a phone asked for, rendered for the device its MAC names; `password` is
 * called only when there is a file to render.
 */
export function fileFor(record: ProvisioningRecord, requested: RequestedFile, password: () => string, defaults: SipDefaults): FileOutcome {
  const found = deviceFiles(record);
  if (!found) return { kind: 'unknown_manufacturer' };
  const file = found.files.find((f) => f.kind === requested.kind && (f.name.toLowerCase() === requested.name.toLowerCase() || f.alsoMatches?.test(requested.name)));
  if (!file) return { kind: 'not_for_vendor', vendor: found.vendor.id };
  return { kind: 'ok', file: renderVendorFile(found.vendor, file, record, password(), defaults) };
}
