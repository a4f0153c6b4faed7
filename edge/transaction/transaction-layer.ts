/**
 * The table of server transactions: lookup by RFC 3261 §17.2.3 key (for
 * retransmissions) and by id (for the app's answers).
 */
import type { InboundRequest } from '../sip/request';
import type { ReplyChannel } from './reply-channel';
import { createTimers, ServerTransaction, TransactionHooks } from './server-transaction';

/** Every live server transaction. */
export class TransactionLayer {
  private readonly byKey = new Map<string, ServerTransaction>();
  private readonly byId = new Map<string, ServerTransaction>();

  private readonly txnHooks: TransactionHooks;
  private readonly timers = createTimers();

  constructor(hooks: TransactionHooks) {
    this.txnHooks = {
      sent: hooks.sent,
      finished: (t) => this.byId.delete(t.id),
      terminated: (t, answered) => {
        if (this.byKey.get(t.key) === t) this.byKey.delete(t.key);
        this.byId.delete(t.id);
        hooks.terminated(t, answered);
      },
    };
  }

  get size(): number {
    return this.byKey.size;
  }

  find(key: string): ServerTransaction | undefined {
    return this.byKey.get(key);
  }

  get(id: string): ServerTransaction | undefined {
    return this.byId.get(id);
  }

  /** Creates and registers a transaction for a request that matched none. */
  create(key: string, request: InboundRequest, channel: ReplyChannel): ServerTransaction {
    const txn = new ServerTransaction(key, request, channel, this.txnHooks, this.timers);
    this.byKey.set(key, txn);
    this.byId.set(txn.id, txn);
    return txn;
  }

  /** Terminates every transaction and clears their timers (edge stopping). */
  clear(): void {
    for (const t of [...this.byKey.values()]) t.terminate(false, true);
    this.byKey.clear();
    this.byId.clear();
    for (const q of Object.values(this.timers)) q.clear();
  }
}
