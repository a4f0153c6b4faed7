/**
 * patches/drachtio-srf+5.0.29.patch (applied by `patch-package` after every install):
 * drachtio-srf builds its debug messages, JSON.stringify of the request meta and of
 * every response and the whole text of every message it sends included, even when
 * debug output is off. The patch builds them only when their debug namespace is
 * enabled. These tests drive the patched request, response and agent send paths (not
 * the agent's frame reader, which needs a live engine socket) and fail when the patch
 * is missing.
 */
import { Socket } from 'node:net';

/* eslint-disable @typescript-eslint/no-require-imports */
const createDebug = require('debug') as { enable(ns: string): void; disable(): string; log: (...args: unknown[]) => void };
const SipMessage = require('drachtio-srf/lib/sip-parser/message');
const SrfRequest = require('drachtio-srf/lib/request');
const SrfResponse = require('drachtio-srf/lib/response');
const DrachtioAgent = require('drachtio-srf/lib/drachtio-agent');
/* eslint-enable @typescript-eslint/no-require-imports */

const REGISTER =
  'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n' +
  'From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: c1\r\n' +
  'CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n';

/** Counts how often JSON.stringify reaches `target`. */
function counted<T extends object>(target: T, counter: { n: number }): T {
  Object.defineProperty(target, 'toJSON', { value: () => ++counter.n, enumerable: false });
  return target;
}

/** One request in and its response out through drachtio-srf's own objects; returns how many stringifications happened. */
function exercise(): number {
  const counter = { n: 0 };
  const meta = counted({ source: 'network', address: '192.0.2.1', port: '5060', protocol: 'udp', transactionId: 't1' }, counter);
  const req = new SrfRequest(new SipMessage(REGISTER), meta);
  const sent: unknown[] = [];
  const res = new SrfResponse({ sendResponse: (...args: unknown[]) => sent.push(args) });
  res.req = req;
  counted(res.msg, counter);
  res.send(200, 'OK', counted({ headers: { Expires: '60' } }, counter));
  expect(sent).toHaveLength(1); // the response did go to the agent
  // The agent's own sendResponse, on a socket it no longer knows (answers through the callback).
  let agentError: Error | undefined;
  DrachtioAgent.prototype.sendResponse.call({ mapServer: new Map() }, res, {}, (err: Error) => (agentError = err));
  expect(agentError?.message).toMatch(/socket connection closed/);
  // The agent's sendMessage: it sends a copy with the headers added, and (patched) renders the
  // message itself to text only for debug output. The socket is never connected: wp.send captures the frame.
  const frames: string[] = [];
  const agent = { wp: { send: (_socket: unknown, frame: string) => frames.push(frame) } };
  const message = new SipMessage(REGISTER);
  Object.defineProperty(message, 'toString', { value: () => `${++counter.n}`, enumerable: false });
  DrachtioAgent.prototype.sendMessage.call(agent, new Socket(), message, counted({ headers: { Expires: '60' }, stackTxnId: 't1' }, counter));
  expect(frames).toHaveLength(1);
  expect(frames[0]).toMatch(/^sip\|t1\|\r\nREGISTER sip:example.com SIP\/2.0\r\n[^]*expires: 60\r\n/i);
  return counter.n;
}

describe('drachtio-srf debug patch', () => {
  const log = createDebug.log;
  let namespaces = '';
  beforeEach(() => {
    namespaces = createDebug.disable(); // whatever DEBUG asked for, restored after each test
  });
  afterEach(() => {
    createDebug.disable();
    if (namespaces) createDebug.enable(namespaces);
    createDebug.log = log;
  });

  it('serialises nothing for debug output while debug is off', () => {
    expect(exercise()).toBe(0);
  });

  it('still writes the same debug output when drachtio debug is enabled', () => {
    const lines: string[] = [];
    createDebug.log = (...args: unknown[]) => lines.push(args.map(String).join(' '));
    createDebug.enable('drachtio:*');
    // meta (Request), opts and msg (Response#send), msg (agent#sendResponse), opts and the message's text (agent#sendMessage)
    expect(exercise()).toBe(6);
    expect(lines.some((l) => l.includes('Response#send: msg'))).toBe(true);
  });
});
