/**
 * The SIP core: takes parsed messages from the transports, applies the
 * request checks, matches server transactions, answers what the edge answers
 * itself (400, 503, 100 for INVITE, 408 for an INVITE the app never answers) and
 * hands the rest to an app over the control protocol; turns the app's answers
 * into responses on the wire.
 */
import type { Logger } from 'pino';
import type { AppSession } from './control/app-session';
import type { AppRouter } from './control/app-router';
import { networkRequest, nokResponse, responseSent } from './control/wire-format';
import type { EdgeMetrics } from './metrics/edge-metrics';
import { readDatagram } from './sip/datagram';
import { mayAnswer, MessageHead, ParseLimits, parseHead } from './sip/message';
import { checkRequest, InboundRequest, replyableHead, ReplyableHead, wildcardContactProblem } from './sip/request';
import { buildAppResponse, buildLocalResponse, REASON_PHRASES } from './sip/response-builder';
import type { ReplyChannel } from './transaction/reply-channel';
import { transactionKey } from './transaction/transaction-key';
import { TransactionLayer } from './transaction/transaction-layer';
import type { ServerTransaction } from './transaction/server-transaction';
import { hostPort } from './transport/address';

/** Limits of the core. */
export interface CoreLimits extends ParseLimits {
  /** Server transactions held at most; past it new requests get a stateless 503. */
  readonly maxTransactions: number;
  /** Transactions awaiting their answer from one source address at most; default an eighth of maxTransactions. */
  readonly maxUnansweredPerSource?: number;
}

const NOT_SUPPORTED = 'not supported';
const UNKNOWN_TRANSACTION = 'Response not sent due to unknown transaction';
/** RFC 3261 §20.33: how long a client should wait before retrying after the edge's own 503. */
const RETRY_AFTER: ReadonlyArray<readonly [string, string]> = [['Retry-After', '5']];

/** The request as drachtio-server hands it to an app: as received, top Via fixed up. */
function requestText(req: InboundRequest): string {
  let s = `${req.method} ${req.uri} SIP/2.0\r\n`;
  const h = req.headers;
  for (let i = 0; i < h.length; i++) {
    const hdr = h[i]!;
    s += `${hdr.name}: ${i === req.viaIndex ? req.fixedViaValue : hdr.value}\r\n`;
  }
  return `${s}\r\n${req.body}`;
}

/** See the file comment. */
export class SipCore {
  readonly transactions: TransactionLayer;
  private readonly infoEnabled: boolean;
  private readonly maxUnansweredPerSource: number;

  constructor(
    private readonly limits: CoreLimits,
    private readonly router: AppRouter<AppSession>,
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
  ) {
    this.infoEnabled = log.isLevelEnabled('info');
    this.maxUnansweredPerSource = limits.maxUnansweredPerSource ?? Math.max(1, Math.floor(limits.maxTransactions / 8));
    this.transactions = new TransactionLayer({
      sent: (txn, status, retransmission) => {
        this.metrics.sent(txn.channel.transport, txn.method, status);
        if (!retransmission && status >= 200) {
          // The one info line of a transaction. A message without a merge object: the shared
          // logger's redaction costs ~10 us per object, a third of the edge's work per REGISTER.
          if (this.infoEnabled) {
            const ch = txn.channel;
            this.log.info(`sip ${txn.method} ${status} ${ch.transport} from ${hostPort(ch.remoteAddress, ch.remotePort)} in ${Date.now() - txn.createdAt} ms`);
          }
        }
      },
      resent: (channel, method, status) => this.metrics.sent(channel.transport, method, status),
      inviteTimedOut: (txn) => {
        // 408 rather than 503: the service is up, the app did not answer in time (RFC 3261 §21.4.9,
        // as a proxy answers when its Timer C fires, §16.8). The owner's late answer then gets NOK.
        if (txn.request) txn.respond(408, buildLocalResponse(txn.request, 408, REASON_PHRASES[408]!, txn.toTag));
      },
      terminated: (txn, answered) => {
        if (!answered && this.infoEnabled) {
          const ch = txn.channel;
          this.log.info(`sip ${txn.method} unanswered ${ch.transport} from ${hostPort(ch.remoteAddress, ch.remotePort)}: transaction forgotten`);
        }
      },
    });
  }

  /** A UDP datagram. */
  datagram(data: Buffer, channel: ReplyChannel): void {
    if (data.length > this.limits.maxMessageBytes) {
      this.metrics.parseError('udp');
      // Too large to trust: read the head only to find where to send 513.
      const r = readDatagram(data.subarray(0, Math.min(data.length, this.limits.maxMessageBytes)), this.limits);
      if (r.kind === 'message' && r.head.kind === 'request') this.stateless(r.head, channel, 513, REASON_PHRASES[513]!);
      else this.metrics.dropped('too large');
      return;
    }
    const r = readDatagram(data, this.limits);
    if (r.kind === 'keepalive') return; // RFC 5626 §4.4.1 / §3.5.1: stray CRLFs on UDP are ignored
    this.message(r.head, r.body, r.bodyError, data.length, channel);
  }

  /** A stream that cannot be framed any more: answer its last head if we can (never an ACK), the connection then closes. */
  streamFatal(reason: string, head: MessageHead | undefined, channel: ReplyChannel): void {
    this.metrics.parseError(channel.transport);
    this.log.debug({ reason, source: `${channel.remoteAddress}:${channel.remotePort}` }, 'closing sip connection');
    if (head && head.kind === 'request') {
      const status = reason === 'message too large' ? 513 : 400;
      this.stateless(head, channel, status, status === 513 ? REASON_PHRASES[513]! : `Bad Request (${reason})`);
    }
  }

  /** A complete message from any transport. */
  message(head: MessageHead, body: string, bodyError: string | undefined, bytes: number, channel: ReplyChannel): void {
    const t = channel.transport;
    if (head.kind === 'response') {
      // No client transactions: the edge sends no requests, so a response matches nothing (RFC 3261 §18.1.2).
      this.metrics.received(t, 'response');
      this.metrics.dropped('stray response');
      return;
    }
    if (head.kind === 'unknown') {
      this.metrics.parseError(t);
      this.stateless(head, channel, 400, `Bad Request (${head.error ?? 'malformed'})`); // not when it looks like an ACK or a response
      return;
    }
    this.metrics.received(t, head.method);
    const check = checkRequest(head, body, bodyError, channel);
    if (!check.ok) {
      this.metrics.parseError(t);
      if (head.method === 'ACK') return this.metrics.dropped('malformed ACK'); // never answered (RFC 3261 §17)
      if (check.replyable) this.send400(check.replyable, channel, check.reason, head.method);
      else this.metrics.dropped('no readable Via');
      return;
    }
    const req = check.request;
    if (req.method === 'ACK') {
      const invite = this.transactions.find(transactionKey(req, 'INVITE'));
      if (invite) {
        invite.ack();
        this.metrics.retransmissionAbsorbed(t);
      } else this.metrics.dropped('ACK without transaction');
      return;
    }
    const key = transactionKey(req);
    const existing = this.transactions.find(key);
    if (existing) {
      if (existing.retransmission()) this.metrics.retransmissionAbsorbed(t);
      return;
    }
    if (this.transactions.resendCompleted(key)) return;
    if (this.transactions.size >= this.limits.maxTransactions) {
      this.metrics.dropped('transaction limit');
      this.send(channel, buildLocalResponse(req, 503, REASON_PHRASES[503]!, undefined, RETRY_AFTER), req.method, 503);
      return;
    }
    // One source must not fill the table with requests the app leaves unanswered on purpose (the
    // registrar ignores scanners and blocked sources): past its share, UDP is dropped (an answer
    // would tell a scanner it found a server, or hit whoever a spoofed source address names) and
    // a stream gets 503. A CANCEL is answered at once, so it holds nothing.
    if (req.method !== 'CANCEL' && this.transactions.unansweredFrom(channel.remoteAddress) >= this.maxUnansweredPerSource) {
      this.metrics.dropped('source transaction limit');
      if (channel.reliable) this.send(channel, buildLocalResponse(req, 503, REASON_PHRASES[503]!, undefined, RETRY_AFTER), req.method, 503);
      return;
    }
    const txn = this.transactions.create(key, req, channel);
    if (txn.isInvite) txn.respond(100, buildLocalResponse(req, 100, REASON_PHRASES[100]!, undefined));
    if (req.method === 'CANCEL') return this.cancel(txn, req);
    if (req.method === 'REGISTER') {
      const problem = wildcardContactProblem(req);
      if (problem) {
        txn.respond(400, buildLocalResponse(req, 400, `Bad Request (${problem})`, txn.toTag));
        return;
      }
    }
    const app = this.router.pick(req.method);
    if (!app) {
      txn.respond(503, buildLocalResponse(req, 503, REASON_PHRASES[503]!, txn.toTag));
      return;
    }
    this.deliver(app, txn, req, bytes);
  }

  private deliver(app: AppSession, txn: ServerTransaction, req: InboundRequest, bytes: number): void {
    txn.owner = app;
    app.pending.add(txn);
    this.forward(app, txn, req, bytes);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ method: req.method, app: app.id, txn: txn.id }, 'request handed to app');
  }

  /** Hands `req` of transaction `txn` to `app` as drachtio-server's `sip|network` frame. */
  private forward(app: AppSession, txn: ServerTransaction, req: InboundRequest, bytes: number): void {
    const ch = txn.channel;
    app.send(
      networkRequest(
        {
          bytes,
          transport: ch.transport,
          sourceAddress: ch.remoteAddress,
          sourcePort: ch.remotePort,
          transactionId: txn.id,
          localAddress: ch.localAddress,
          localPort: ch.localPort,
        },
        requestText(req),
      ),
    );
  }

  /**
   * RFC 3261 §9.2: a CANCEL that matches an INVITE transaction gets 200; if the INVITE
   * still awaits its final response it gets 487 and the app that holds it is told with
   * the CANCEL, else (final response sent, ACK not yet in) the CANCEL changes nothing.
   * No matching transaction: 481.
   */
  private cancel(txn: ServerTransaction, req: InboundRequest): void {
    const invite = this.transactions.find(transactionKey(req, 'INVITE'));
    if (!invite) {
      txn.respond(481, buildLocalResponse(req, 481, REASON_PHRASES[481]!, txn.toTag));
      return;
    }
    txn.respond(200, buildLocalResponse(req, 200, REASON_PHRASES[200]!, txn.toTag));
    if (!invite.awaitingResponse || !invite.request) return;
    const owner = invite.owner as AppSession | undefined;
    const inviteReq = invite.request;
    invite.respond(487, buildLocalResponse(inviteReq, 487, REASON_PHRASES[487]!, invite.toTag));
    if (owner) this.forward(owner, txn, req, 0);
  }

  private send400(head: ReplyableHead, channel: ReplyChannel, reason: string, method: string): void {
    this.send(channel, buildLocalResponse(head, 400, `Bad Request (${reason})`, undefined), method, 400);
  }

  /**
   * A response without a transaction, for a head whose Via can be read; else the message is
   * dropped. An ACK or a response, even malformed, is never answered (RFC 3261 §17.2.1, §18.1.2).
   */
  private stateless(head: MessageHead, channel: ReplyChannel, status: number, reason: string): void {
    if (!mayAnswer(head)) {
      // An ACK (malformed, or too large) or something that looks like a response.
      this.metrics.dropped(head.kind === 'request' || (head.kind === 'unknown' && head.leader === 'ACK') ? 'unanswerable ACK' : 'unanswerable response');
      return;
    }
    const replyable = replyableHead(head.headers, channel);
    if (!replyable) {
      this.metrics.dropped('no readable Via');
      return;
    }
    this.send(channel, buildLocalResponse(replyable, status, reason, undefined), head.kind === 'request' ? head.method : '', status);
  }

  private send(channel: ReplyChannel, text: string, method: string, status: number): void {
    channel.send(Buffer.from(text, 'latin1'));
    this.metrics.sent(channel.transport, method, status);
  }

  /** An app's `sip|<transactionId>|...` frame. */
  appSip(app: AppSession, msgId: string, transactionId: string, sip: string): void {
    if (transactionId === '') {
      // A request the app wants to send (UAC): drachtio-server features the edge does not have.
      app.send(nokResponse(msgId, NOT_SUPPORTED));
      return;
    }
    const end = sip.indexOf('\r\n\r\n');
    const head = parseHead(end === -1 ? sip : sip.slice(0, end), this.limits);
    if (head.kind !== 'response') {
      app.send(nokResponse(msgId, NOT_SUPPORTED));
      return;
    }
    const txn = this.transactions.get(transactionId);
    if (!txn || !txn.awaitingResponse || !txn.request) {
      app.send(nokResponse(msgId, UNKNOWN_TRANSACTION));
      return;
    }
    if (head.error) {
      app.send(nokResponse(msgId, `invalid response: ${head.error}`));
      return;
    }
    const body = end === -1 ? '' : sip.slice(end + 4);
    const text = buildAppResponse(txn.request, { status: head.status, reason: head.reason, headers: head.headers, body }, txn.toTag);
    const data = txn.respond(head.status, text);
    if (!data) {
      app.send(nokResponse(msgId, UNKNOWN_TRANSACTION));
      return;
    }
    const ch = txn.channel;
    app.send(responseSent(msgId, data.length, ch.remoteAddress, ch.remotePort, txn.id, text));
  }

  /**
   * An app went away: each transaction it still held is answered 503 with Retry-After
   * (RFC 3261 §21.5.4, §20.33). Forgetting them would leave clients waiting: a 1xx has
   * stopped INVITE retransmissions (§17.1.1.2) and TCP never retransmits, so nothing
   * would start a new transaction for another app.
   */
  appGone(app: AppSession): void {
    const pending = [...app.pending];
    app.pending.clear();
    // Every pending transaction still awaits its answer and holds its request: releasing it removes it from `pending`.
    for (const txn of pending) txn.respond(503, buildLocalResponse(txn.request!, 503, REASON_PHRASES[503]!, txn.toTag, RETRY_AFTER));
    if (pending.length) this.log.warn({ app: app.id, transactions: pending.length }, 'app disconnected with unanswered transactions: answered 503');
  }

  /** Terminates every transaction (edge stopping). */
  stop(): void {
    this.transactions.clear();
  }
}
