-- SIP identities of deleted devices, kept for DEVICE_TOMBSTONE_RETENTION_DAYS so the
-- registrar can answer 403 (RFC 3261 §10.3 step 4) to a deleted phone that still
-- proves its old password, instead of challenging it forever and counting every
-- answer as a failed authentication (which would end up blocking its NAT address).
-- One row per identity: deleting a re-created device with the same identity replaces it.
-- No foreign key to accounts: the record of a deletion outlives the account's rows,
-- and the API purges it by age.
CREATE TABLE device_tombstones (
  sip_domain   text NOT NULL,
  sip_username text NOT NULL,
  ha1_md5      text NOT NULL,                   -- the deleted device's last HA1 values
  ha1_sha256   text NOT NULL,
  device_id    text NOT NULL,
  account_id   text NOT NULL,
  deleted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sip_domain, sip_username)
);
-- The retention purge walks the oldest rows first.
CREATE INDEX device_tombstones_deleted_at_idx ON device_tombstones (deleted_at);
