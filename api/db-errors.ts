import { isUniqueViolation } from '../shared/db';
import { ConflictError } from './errors';

/**
 * Maps a unique violation (SQLSTATE 23505) to a 409 by constraint name; any
 * other error is returned unchanged for the caller to rethrow.
 */
export function mapUniqueViolation(err: unknown): unknown {
  if (!isUniqueViolation(err)) return err;
  switch (err.constraint) {
    case 'devices_sip_identity_key':
      return new ConflictError('sip-username-taken', 'sipUsername', 'A device with this sipUsername already exists in this SIP domain.');
    case 'devices_mac_address_key':
      return new ConflictError('mac-address-taken', 'macAddress', 'A device with this macAddress already exists.');
    default:
      return err;
  }
}
