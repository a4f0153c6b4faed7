import { randomBase62 } from '../shared/credentials';

/** Random part of every generated id: 16 base62 characters (about 95 bits). */
const ID_RANDOM_LENGTH = 16;

/** Account ids, `acc_<random>` (the seed's form). */
export const ACCOUNT_ID = /^acc_[A-Za-z0-9]{1,64}$/;
/** Device ids, `dev_sip_<random>` (the seed's form). */
export const DEVICE_ID = /^dev_sip_[A-Za-z0-9]{1,64}$/;
/** API key ids, `key_<random>`. */
export const API_KEY_ID = /^key_[A-Za-z0-9]{1,64}$/;
/** Webhook delivery ids, `dlv_<32 hex>` (made by PostgreSQL). */
export const DELIVERY_ID = /^dlv_[0-9a-f]{32}$/;
/** Webhook ids, `whk_<random>`. */
export const WEBHOOK_ID = /^whk_[A-Za-z0-9]{1,64}$/;

/** A new random account id. */
export function newAccountId(): string {
  return `acc_${randomBase62(ID_RANDOM_LENGTH)}`;
}

/** A new random device id. */
export function newDeviceId(): string {
  return `dev_sip_${randomBase62(ID_RANDOM_LENGTH)}`;
}

/** A new random API key id. */
export function newApiKeyId(): string {
  return `key_${randomBase62(ID_RANDOM_LENGTH)}`;
}

/** A new random webhook id. */
export function newWebhookId(): string {
  return `whk_${randomBase62(ID_RANDOM_LENGTH)}`;
}
