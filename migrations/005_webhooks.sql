-- Webhooks: an account's HTTP receivers of its events, and the durable outbox of their
-- deliveries (docs/events.md). The dispatcher turns events into deliveries in order,
-- remembering its position in webhook_dispatch_position; delivery workers in every API
-- process claim due deliveries with a lease, so a delivery outlives any process.
CREATE TABLE webhooks (
  id                      text PRIMARY KEY,                -- whk_<random>
  account_id              text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  url                     text NOT NULL,
  description             text,
  event_types             text[] NOT NULL,                 -- event types, or '*' for all
  enabled                 boolean NOT NULL DEFAULT true,
  -- Signing secret (Standard Webhooks `whsec_…`), AES-256-GCM like SIP passwords; never plaintext.
  secret_enc              text NOT NULL,
  -- After a rotation the previous secret also signs until prev_secret_expires_at.
  prev_secret_enc         text,
  prev_secret_expires_at  timestamptz,
  -- First failed attempt since the last successful one (NULL while healthy).
  failing_since           timestamptz,
  disabled_reason         text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account_idx ON webhooks (account_id, created_at, id);

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,                         -- dlv_<random>
  webhook_id       text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id         text NOT NULL,
  event_type       text NOT NULL,
  payload          text NOT NULL,                            -- the exact body sent (and signed)
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  lease_until      timestamptz,                              -- claimed by a worker until then
  last_status      integer,
  last_error       text,
  last_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  CONSTRAINT webhook_deliveries_once UNIQUE (webhook_id, event_id)
);
-- Due deliveries of one webhook, in order (claims pick per webhook), and those leased now.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (webhook_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (webhook_id) WHERE state = 'pending' AND lease_until IS NOT NULL;
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, created_at, id);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE state <> 'pending';

-- Where the dispatcher is in the events table, in its (txid, seq) tail order: one row.
CREATE TABLE webhook_dispatch_position (
  id    integer PRIMARY KEY CHECK (id = 1),
  txid  xid8 NOT NULL,
  seq   bigint NOT NULL
);
-- Starts at the current horizon: events written before webhooks existed are not delivered.
INSERT INTO webhook_dispatch_position (id, txid, seq) VALUES (1, pg_snapshot_xmin(pg_current_snapshot()), 0);
