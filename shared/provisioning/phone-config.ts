import type { ProvisioningRecord } from './provisioning-store';
import { compactMac } from './requests';
import { Codec, effectiveSettings, ProvisioningSettings } from './settings';
import { SipDefaults, sipConnection, splitHostPort } from '../sip-connection';

/** A host and port a phone sends SIP to (a type, not an interface, so that a template view can hold it). */
export type HostPort = {
  host: string;
  port: number;
};

/**
 * What every vendor's file says, in vendor-neutral terms: built once per fetch from the
 * device, its account and the configuration, then turned into each vendor's keys by its
 * view (./vendors.ts). Pure.
 */
export interface PhoneConfig {
  /** 12 lower-case hex digits. */
  mac: string;
  /** Line label: the SIP username. */
  label: string;
  /** Caller name: the device's displayName, else its name. */
  displayName: string;
  username: string;
  password: string;
  /** The SIP domain: the phone's registrar and the domain of its address-of-record. */
  domain: string;
  /** Port of the SIP server. */
  port: number;
  transport: 'UDP' | 'TCP' | 'TLS';
  /**
   * Where the phone sends its requests when that is not the domain itself: the account's
   * or configured outbound proxy, else the SIP server when it is not the domain (so the
   * address-of-record keeps the domain, as the registrar requires). Null: straight to the domain.
   */
  outboundProxy: HostPort | null;
  /** The backup server (used by each vendor's failover setting), or null. */
  backup: HostPort | null;
  settings: ProvisioningSettings;
  codecs: readonly Codec[];
  /** `utcOffset` in minutes east of UTC, or null. */
  utcOffsetMinutes: number | null;
}

/** The PhoneConfig of a device (the password given decrypted). */
export function phoneConfig(record: ProvisioningRecord, password: string, defaults: SipDefaults): PhoneConfig {
  const settings = effectiveSettings(record.accountSettings, record.deviceSettings);
  const sip = sipConnection(record.account, defaults, record.sipDomain);
  const transport = settings.transport ?? sip.transport;
  let outboundProxy: HostPort | null = null;
  if (sip.configuredOutboundProxy) outboundProxy = splitHostPort(sip.configuredOutboundProxy, sip.port);
  else if (sip.server.toLowerCase() !== record.sipDomain.toLowerCase()) outboundProxy = { host: sip.server, port: sip.port };
  const offset = settings.utcOffset;
  return {
    mac: record.macAddress ? compactMac(record.macAddress) : '000000000000',
    label: record.sipUsername,
    displayName: record.displayName ?? record.name,
    username: record.sipUsername,
    password,
    domain: record.sipDomain,
    port: sip.port,
    transport,
    outboundProxy,
    backup: settings.backupServer ? { host: settings.backupServer, port: settings.backupPort ?? sip.port } : null,
    settings,
    codecs: settings.codecs,
    utcOffsetMinutes: offset === null ? null : (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4))),
  };
}
