-- Zero-touch provisioning (docs/provisioning.md): the HTTP credentials phones of an account
-- fetch their configuration with, the account's and each device's settings, secret path
-- tokens, and when each device last fetched its file.

-- One row per account, created when an admin first asks for the account's provisioning
-- (GET …/provisioning, the credentials route, a preview): until then nothing is served.
CREATE TABLE account_provisioning (
  account_id        text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  http_username     text NOT NULL UNIQUE,       -- names the account in a phone's Digest/Basic credentials
  -- AES-256-GCM ciphertext of the HTTP password, like devices.password_enc (bound to the account id).
  http_password_enc text NOT NULL,
  -- Settings the account set (absent key: the default); checked by the API (shared/provisioning/settings.ts).
  settings          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per device that has overrides, a path token, or has fetched its file.
CREATE TABLE device_provisioning (
  device_id           text PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  settings            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  token_hash          text UNIQUE,              -- hex SHA-256 of the secret path token (looked up by it)
  token_enc           text,                     -- the token, encrypted (the credentials route shows its URL)
  last_provisioned_at timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((token_hash IS NULL) = (token_enc IS NULL))
);
