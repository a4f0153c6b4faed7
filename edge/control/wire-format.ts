/**
 * Payloads the edge sends to apps, field for field as drachtio-server v0.9.4
 * writes them (each function shows its frame's layout; control-protocol tests
 * check them). All text is latin1, so SIP bytes pass through unchanged.
 */
import { randomUUID } from 'node:crypto';

const CRLF = '\r\n';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** drachtio's message time stamp, `HH:MM:SS.micros` (local time). */
function stackTime(now: Date = new Date()): string {
  const micros = now.getMilliseconds() * 1000;
  return `${pad(now.getHours(), 2)}:${pad(now.getMinutes(), 2)}:${pad(now.getSeconds(), 2)}.${pad(micros, 6)}`;
}

/** `<id>|response|<rid>|OK[|fields...]` */
export function okResponse(rid: string, ...fields: string[]): string {
  return [randomUUID(), 'response', rid, 'OK', ...fields].join('|');
}

/** `<id>|response|<rid>|NOK|<reason>` */
export function nokResponse(rid: string, reason: string): string {
  return `${randomUUID()}|response|${rid}|NOK|${reason}`;
}

/** Where a network request came from and arrived. */
export interface NetworkMeta {
  readonly bytes: number;
  readonly transport: string;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly transactionId: string;
  readonly localAddress: string;
  readonly localPort: number;
}

/** `<id>|sip|network|<bytes>|<transport>|<ip>|<port>|<time>|<txn>|<dialog>|<local ip>|<local port>|\r\n<sip>` */
export function networkRequest(meta: NetworkMeta, sip: string): string {
  return (
    `${randomUUID()}|sip|network|${meta.bytes}|${meta.transport}|${meta.sourceAddress}|${meta.sourcePort}|` +
    `${stackTime()}|${meta.transactionId}||${meta.localAddress}|${meta.localPort}|${CRLF}${sip}`
  );
}

/** `<id>|response|<rid>|OK|application|<bytes>||<ip>|<port>|<time>|<txn>|||Msg sent:|\r\n<sip>` */
export function responseSent(rid: string, bytes: number, address: string, port: number, transactionId: string, sip: string): string {
  return (
    `${randomUUID()}|response|${rid}|OK|application|${bytes}||${address}|${port}|${stackTime()}|${transactionId}|||Msg sent:|${CRLF}${sip}`
  );
}
