/**
 * The table of server transactions: lookup by RFC 3261 §17.2.3 key (for
 * retransmissions) and by id (for the app's answers).
 */
import { TIMER_J_UNRELIABLE } from '../sip/constants';
import type { InboundRequest } from '../sip/request';
import { CompletedTable } from './completed-table';
import type { ReplyChannel } from './reply-channel';
import { createTimers, ServerTransaction, TransactionHooks } from './server-transaction';
import { flatCopy } from './transaction-key';

/** What the layer reports to its owner. */
export interface LayerHooks {
  /** A transaction sent a response (first send or retransmission). */
  sent(txn: ServerTransaction, status: number, retransmission: boolean): void;
  /** A completed non-INVITE UDP transaction resent its final response to a retransmitted request. */
  resent(channel: ReplyChannel, method: string, status: number): void;
  /** A transaction reached Terminated; `answered` is false when it expired without a final response. */
  terminated(txn: ServerTransaction, answered: boolean): void;
  /** An INVITE reached the unanswered timeout: answer it with `txn.respond`, or it is forgotten. */
  inviteTimedOut?(txn: ServerTransaction): void;
}

/** Every server transaction: live ones as objects, completed non-INVITE UDP ones in a CompletedTable. */
export class TransactionLayer {
  private readonly byKey = new Map<string, ServerTransaction>();
  private readonly byId = new Map<string, ServerTransaction>();
  private readonly completed: CompletedTable;
  /** Transactions still awaiting a final response, per source address: counted at creation, until `finished`. */
  private readonly unansweredBySource = new Map<string, number>();

  private readonly txnHooks: TransactionHooks;
  private readonly timers = createTimers();

  constructor(private readonly hooks: LayerHooks) {
    this.completed = new CompletedTable(TIMER_J_UNRELIABLE);
    this.txnHooks = {
      sent: hooks.sent,
      inviteTimedOut: hooks.inviteTimedOut,
      finished: (t) => {
        this.byId.delete(t.id);
        this.uncount(t.channel.remoteAddress);
      },
      completed: (t, channel, response, status) => {
        if (this.byKey.get(t.key) === t) this.byKey.delete(t.key);
        this.completed.add(t.key, response, channel, t.method, status);
      },
      terminated: (t, answered) => {
        if (this.byKey.get(t.key) === t) this.byKey.delete(t.key);
        hooks.terminated(t, answered);
      },
    };
  }

  /** Live and completed transactions: what SIP_MAX_TRANSACTIONS bounds. */
  get size(): number {
    return this.byKey.size + this.completed.size;
  }

  find(key: string): ServerTransaction | undefined {
    return this.byKey.get(key);
  }

  /**
   * RFC 3261 §17.2.2: a retransmission of a request whose non-INVITE transaction is
   * Completed gets the final response again. False when no such transaction is kept.
   */
  resendCompleted(key: string): boolean {
    const done = this.completed.get(key);
    if (!done) return false;
    done.channel.send(done.response);
    this.hooks.resent(done.channel, done.method, done.status);
    return true;
  }

  /** Transactions from `source` (an address) that still await a final response. */
  unansweredFrom(source: string): number {
    return this.unansweredBySource.get(source) ?? 0;
  }

  private uncount(source: string): void {
    const left = (this.unansweredBySource.get(source) ?? 1) - 1;
    if (left <= 0) this.unansweredBySource.delete(source);
    else this.unansweredBySource.set(source, left);
  }

  get(id: string): ServerTransaction | undefined {
    return this.byId.get(id);
  }

  /** Creates and registers a transaction for a request that matched none. */
  create(lookupKey: string, request: InboundRequest, channel: ReplyChannel): ServerTransaction {
    // An INVITE's key outlives its request (Timer H/I run after the final response released it),
    // so it must not keep the request text alive; any other key lives no longer than its request.
    const key = request.method === 'INVITE' ? flatCopy(lookupKey) : lookupKey;
    const txn = new ServerTransaction(key, request, channel, this.txnHooks, this.timers);
    this.byKey.set(key, txn);
    this.byId.set(txn.id, txn);
    const source = channel.remoteAddress;
    this.unansweredBySource.set(source, (this.unansweredBySource.get(source) ?? 0) + 1);
    return txn;
  }

  /** Terminates every transaction and clears their timers (edge stopping). */
  clear(): void {
    for (const t of [...this.byKey.values()]) t.terminate(true);
    this.byKey.clear();
    this.byId.clear();
    this.unansweredBySource.clear();
    this.completed.clear();
    for (const q of Object.values(this.timers)) q.clear();
  }
}
