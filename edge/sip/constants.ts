/**
 * Protocol constants, named after the RFC that defines them.
 * Timer values are in milliseconds.
 */

/** RFC 3261 §17.1.1.1: RTT estimate. */
export const T1 = 500;
/** RFC 3261 §17.1.2.2: maximum retransmit interval for non-INVITE requests and INVITE responses. */
export const T2 = 4_000;
/** RFC 3261 §17.1.2.2: maximum duration a message remains in the network. */
export const T4 = 5_000;
/** RFC 3261 §17.2.2 / Table 4: wait time for non-INVITE request retransmits, unreliable transports. */
export const TIMER_J_UNRELIABLE = 64 * T1;
/** RFC 3261 §17.2.1 / Table 4: INVITE final response retransmit interval (initial), unreliable transports. */
export const TIMER_G = T1;
/** RFC 3261 §17.2.1 / Table 4: wait time for ACK receipt. */
export const TIMER_H = 64 * T1;
/** RFC 3261 §17.2.1 / Table 4: wait time for ACK retransmits, unreliable transports (zero on reliable ones). */
export const TIMER_I_UNRELIABLE = T4;
/**
 * How long a non-INVITE transaction the app never answers is kept (absorbing
 * retransmissions) before it is forgotten: the client's Timer F gives up after 64*T1
 * (RFC 3261 §17.1.2.2), so keeping it longer absorbs nothing and only holds a slot of
 * SIP_MAX_TRANSACTIONS (drachtio-server v0.9.4 keeps it 64 s).
 */
export const UNANSWERED_TRANSACTION_TIMEOUT = 64 * T1;
/**
 * How long an INVITE the app never answers waits before the edge answers it 408: after
 * the 100 Trying the client has no timer of its own (RFC 3261 §17.1.1.2). drachtio-server
 * v0.9.4 forgets it after 64 s.
 */
export const UNANSWERED_INVITE_TIMEOUT = 64_000;

/** RFC 3261 §8.1.1.7: branch parameters of RFC 3261 compliant clients start with this magic cookie. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** RFC 3261 §7.1: the only protocol version we speak. */
export const SIP_VERSION = 'SIP/2.0';

/** RFC 5626 §4.4.1: the pong (single CRLF) answering a double-CRLF keep-alive ping on stream transports. */
export const KEEPALIVE_PONG = '\r\n';
