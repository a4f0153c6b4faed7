-- Accounts, API keys and SIP devices. Plain SQL, applied in file-name order by `npm run migrate`.

CREATE TABLE accounts (
  id          text PRIMARY KEY,                 -- acc_<random>
  name        text NOT NULL,
  sip_domain  text NOT NULL,                    -- digest realm of the account's devices
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- account_id NULL: a platform-wide operator key.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,                -- key_<random>; the presented key embeds it for lookup
  account_id   text REFERENCES accounts(id) ON DELETE CASCADE,
  name         text NOT NULL,
  secret_hash  text NOT NULL,                   -- argon2id of the whole presented key
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

CREATE TABLE devices (
  id               text PRIMARY KEY,            -- dev_sip_<random>
  account_id       text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name             text NOT NULL,
  model            text,
  manufacturer     text,
  mac_address      text,                        -- normalised 00:15:65:00:00:01
  sip_username     text NOT NULL,
  sip_domain       text NOT NULL,
  display_name     text,
  assigned_user    text,
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  -- SIP password: AES-256-GCM ciphertext "<keyId>:<iv>:<tag>:<ciphertext>" (base64url parts); never plaintext.
  password_enc     text NOT NULL,
  ha1_md5          text NOT NULL,               -- MD5(username:realm:password), hex
  ha1_sha256       text NOT NULL,               -- SHA-256(username:realm:password), hex (RFC 8760)
  -- Previous credentials after a reset with a grace period, accepted until prev_expires_at.
  prev_ha1_md5     text,
  prev_ha1_sha256  text,
  prev_expires_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT devices_sip_identity_key UNIQUE (sip_domain, sip_username),
  CONSTRAINT devices_mac_address_key UNIQUE (mac_address)
);
-- Stable cursor order for listing: (created_at, id) within an account.
CREATE INDEX devices_account_order_idx ON devices (account_id, created_at, id);
