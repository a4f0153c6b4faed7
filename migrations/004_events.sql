-- Events: registration outcomes written by registrars and the audit log written by the API,
-- one table read per device, per account, live (SSE) and by the webhook dispatcher
-- (docs/events.md). Partitioned by day on `at`, so retention drops whole partitions.
CREATE SEQUENCE events_seq;

CREATE TABLE events (
  seq         bigint NOT NULL DEFAULT nextval('events_seq'),  -- list order (newest first) and cursors
  -- The writing transaction: readers that tail the table (SSE, webhooks) take rows in
  -- (txid, seq) order and only from transactions older than every running one
  -- (pg_snapshot_xmin), so a row committed late by a slow writer is never skipped.
  txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id          text NOT NULL,                                  -- evt_<random>, public
  at          timestamptz NOT NULL,                           -- when it happened (the writer's clock)
  account_id  text,                                           -- NULL: belongs to no account (unknown user or domain): operators only
  device_id   text,
  type        text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}'                     -- reason, source address, User-Agent, contact, actor key… never a secret
) PARTITION BY RANGE (at);

CREATE INDEX events_account_idx ON events (account_id, seq);
CREATE INDEX events_device_idx ON events (device_id, seq);
CREATE INDEX events_tail_idx ON events (txid, seq);
CREATE INDEX events_account_tail_idx ON events (account_id, txid, seq);  -- one account's catch-up (SSE resume)

-- Rows outside every day partition (no partition yet, or a writer's clock far off) land here;
-- the retention purge deletes its old rows.
CREATE TABLE events_default PARTITION OF events DEFAULT;

-- Creates the day partitions (UTC) from today to `days_ahead` days ahead that are missing.
-- A day whose rows already sit in the default partition is skipped (its rows stay there).
-- Returns how many partitions were created.
CREATE FUNCTION events_ensure_partitions(days_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  day date;
  created integer := 0;
  name text;
BEGIN
  FOR i IN 0 .. days_ahead LOOP
    day := (now() AT TIME ZONE 'UTC')::date + i;
    name := 'events_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass(quote_ident(name)) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
          name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
        created := created + 1;
      EXCEPTION WHEN check_violation THEN
        NULL; -- the default partition holds rows of that day already
      END;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Drops the day partitions that ended more than `retention_days` ago and deletes the
-- default partition's rows older than that. Returns how many partitions were dropped.
CREATE FUNCTION events_drop_expired(retention_days integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped integer := 0;
  cutoff date := (now() AT TIME ZONE 'UTC')::date - retention_days;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass('events') AND c.relname ~ '^events_p[0-9]{8}$'
  LOOP
    IF to_date(substr(part.relname, 9), 'YYYYMMDD') < cutoff THEN
      EXECUTE format('DROP TABLE %I', part.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  DELETE FROM events_default WHERE at < (cutoff::timestamp AT TIME ZONE 'UTC');
  RETURN dropped;
END $$;

SELECT events_ensure_partitions(7);
