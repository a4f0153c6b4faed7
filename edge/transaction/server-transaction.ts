/**
 * One server transaction (RFC 3261 §17.2.1 INVITE, §17.2.2 non-INVITE).
 * It owns the request, the reply channel, the last response and its timers.
 */
import { randomUUID } from 'node:crypto';
import {
  T2,
  TIMER_G,
  TIMER_H,
  TIMER_I_UNRELIABLE,
  UNANSWERED_INVITE_TIMEOUT,
  UNANSWERED_TRANSACTION_TIMEOUT,
} from '../sip/constants';
import type { InboundRequest } from '../sip/request';
import { newTag } from '../sip/response-builder';
import type { DatagramChannel, ReplyChannel } from './reply-channel';
import { DelayQueue, Expirable } from './delay-queue';

/** RFC 3261 Figures 7 and 8. */
export type TransactionState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'terminated';

const ALLOWED: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['proceeding', 'completed', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
};

/** What a transaction reports to the layer that owns it. */
export interface TransactionHooks {
  /** A response went on the wire (first send or retransmission). */
  sent(txn: ServerTransaction, status: number, retransmission: boolean): void;
  /** It no longer awaits a response (a final one was sent, or it ended without one): the app can no longer answer, so its id need not be found any more. */
  finished?(txn: ServerTransaction): void;
  /**
   * A non-INVITE transaction over UDP entered Completed with `response`. For Timer J the
   * owner keeps the response to answer retransmissions (CompletedTable); this object is
   * done with and holds no timer.
   */
  completed(txn: ServerTransaction, channel: DatagramChannel, response: Buffer, status: number): void;
  /** The transaction reached Terminated; `answered` is false when it expired without a final response. */
  terminated(txn: ServerTransaction, answered: boolean): void;
  /**
   * An INVITE the app never answered reached the unanswered timeout: the owner should answer
   * it now (`respond`); if it does not, the transaction is forgotten like any other.
   */
  inviteTimedOut?(txn: ServerTransaction): void;
}

/** The shared fixed-delay timers (one queue per RFC 3261 timer), owned by the transaction layer. Timer J: see `completed`. */
export interface TransactionTimers {
  /** Non-INVITE transactions the app has not answered. */
  readonly unanswered: DelayQueue;
  readonly unansweredInvite: DelayQueue;
  readonly timerH: DelayQueue;
  readonly timerI: DelayQueue;
}

/** Timers with the RFC 3261 durations. */
export function createTimers(): TransactionTimers {
  return {
    unanswered: new DelayQueue(UNANSWERED_TRANSACTION_TIMEOUT),
    unansweredInvite: new DelayQueue(UNANSWERED_INVITE_TIMEOUT),
    timerH: new DelayQueue(TIMER_H),
    timerI: new DelayQueue(TIMER_I_UNRELIABLE),
  };
}

/** The application that holds a transaction, told when the transaction no longer needs it. */
export interface TransactionOwner {
  release(txn: ServerTransaction): void;
}

/** A server transaction. Methods never throw on network input; `transition` throws on a programming error. */
export class ServerTransaction implements Expirable {
  /** The id handed to the app as drachtio's transactionId. */
  readonly id = randomUUID();
  readonly isInvite: boolean;
  readonly method: string;
  readonly createdAt = Date.now();
  state: TransactionState;
  owner: TransactionOwner | undefined;
  /** Tag for the To header of our responses when the request has none. */
  readonly toTag = newTag();
  private lastResponse: Buffer | undefined;
  private lastStatus = 0;
  /** The pending fixed-delay timer, if any: its queue and ticket (see DelayQueue). */
  private timerQueue: DelayQueue | undefined;
  private timerTicket = 0;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private retransmitInterval = TIMER_G;
  /** The request; released once a final response is sent, since only the response is needed then. */
  request: InboundRequest | undefined;

  constructor(
    readonly key: string,
    request: InboundRequest,
    readonly channel: ReplyChannel,
    private readonly hooks: TransactionHooks,
    private readonly timers: TransactionTimers,
  ) {
    this.request = request;
    this.method = request.method;
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'proceeding' : 'trying';
    this.schedule(this.isInvite ? timers.unansweredInvite : timers.unanswered);
    channel.hold?.();
  }

  /** The one guarded state change (RFC 3261 Figures 7 and 8). */
  private transition(to: TransactionState): void {
    if (!ALLOWED[this.state].includes(to)) throw new Error(`illegal transaction transition ${this.state} -> ${to}`);
    this.state = to;
  }

  /** True while a response from the app is still acceptable. */
  get awaitingResponse(): boolean {
    return this.state === 'trying' || this.state === 'proceeding';
  }

  /**
   * A retransmission of the request arrived (RFC 3261 §17.2.1, §17.2.2).
   * Returns true when it was absorbed without a response.
   */
  retransmission(): boolean {
    if (this.state === 'trying' || this.state === 'confirmed' || !this.lastResponse) return true;
    this.send(this.lastResponse, this.lastStatus, true);
    return false;
  }

  /** RFC 3261 §17.2.1: an ACK for a non-2xx final response moves to Confirmed. */
  ack(): void {
    if (!this.isInvite || this.state !== 'completed') return;
    this.transition('confirmed');
    this.clearTimers();
    if (this.channel.reliable) this.terminate(); // Timer I is zero on reliable transports
    else this.schedule(this.timers.timerI);
  }

  /** Sends a response (latin1 text) from the transaction user; returns the bytes sent, undefined when too late. */
  respond(status: number, text: string): Buffer | undefined {
    if (!this.awaitingResponse) return undefined;
    const data = Buffer.from(text, 'latin1');
    this.lastResponse = data;
    this.lastStatus = status;
    this.send(data, status, false);
    if (status < 200) {
      this.transition('proceeding');
      return data;
    }
    this.clearTimers();
    this.releaseRequest();
    if (this.isInvite && status < 300) {
      // RFC 3261 §17.2.1: a 2xx terminates the INVITE server transaction.
      this.terminate();
      return data;
    }
    this.transition('completed');
    if (this.isInvite) {
      if (!this.channel.reliable) this.scheduleRetransmit();
      this.schedule(this.timers.timerH);
    } else if (this.channel.reliable) {
      this.terminate(); // Timer J is zero on reliable transports
    } else {
      this.hooks.completed(this, this.channel, data, status); // Timer J runs in the owner's CompletedTable
    }
    return data;
  }

  /** RFC 3261 §17.2.1 Timer G: resend the final INVITE response, doubling up to T2. */
  private scheduleRetransmit(): void {
    this.retransmitTimer = setTimeout(() => {
      if (this.state !== 'completed' || !this.lastResponse) return;
      this.send(this.lastResponse, this.lastStatus, true);
      this.retransmitInterval = Math.min(this.retransmitInterval * 2, T2);
      this.scheduleRetransmit();
    }, this.retransmitInterval);
  }

  private send(data: Buffer, status: number, retransmission: boolean): void {
    this.channel.send(data);
    this.hooks.sent(this, status, retransmission);
  }

  /**
   * The pending fixed-delay timer fired: the app never answered (an INVITE is answered
   * through `inviteTimedOut`; anything else is forgotten, and a later retransmission starts
   * a new transaction), or Timer H or I ended it.
   */
  expire(): void {
    this.timerQueue = undefined;
    // A waiting INVITE is only ever on the unanswered-INVITE queue.
    if (this.isInvite && this.awaitingResponse) {
      // RFC 3261 §17.1.1.2: after a 1xx the client waits for a final response without a timer of its own.
      this.hooks.inviteTimedOut?.(this);
      if (!this.awaitingResponse) return;
    }
    this.terminate();
  }

  /**
   * Ends the transaction now, sending nothing; safe to call twice. The layer is told
   * whether a final response went out; `quiet` skips that (edge stopping).
   */
  terminate(quiet = false): void {
    if (this.state === 'terminated') return;
    this.transition('terminated');
    this.clearTimers();
    this.releaseRequest();
    this.lastResponse = undefined;
    if (!quiet) this.hooks.terminated(this, this.lastStatus >= 200);
  }

  /**
   * The app and the request are no longer needed (a final response went out, or the
   * transaction ended): the one moment it stops awaiting a response, told to `finished`.
   */
  private releaseRequest(): void {
    this.owner?.release(this);
    this.owner = undefined;
    if (this.request === undefined) return;
    this.request = undefined;
    this.channel.release?.();
    this.hooks.finished?.(this);
  }

  private schedule(queue: DelayQueue): void {
    this.timerQueue = queue;
    this.timerTicket = queue.push(this);
  }

  private clearTimers(): void {
    this.timerQueue?.cancel(this.timerTicket);
    this.timerQueue = undefined;
    if (this.retransmitTimer) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }
}
