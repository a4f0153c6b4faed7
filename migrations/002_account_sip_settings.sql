-- Per-account SIP connection settings the credentials endpoint hands to devices.
-- NULL means "the configured default" (SIP_PUBLIC_HOST, SIP_PUBLIC_PORT, SIP_OUTBOUND_PROXY, SIP_TRANSPORT).
ALTER TABLE accounts
  ADD COLUMN sip_server         text,
  ADD COLUMN sip_port           integer CHECK (sip_port BETWEEN 1 AND 65535),
  ADD COLUMN outbound_proxy     text,
  ADD COLUMN transport_protocol text CHECK (transport_protocol IN ('UDP', 'TCP', 'TLS'));
