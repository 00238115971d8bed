/** Errors the store raises for things a caller (usually the CLI) should explain to a person. */

export type StoreErrorCode =
  | 'unknown_device'
  | 'duplicate_device'
  | 'invalid_device_id'
  | 'invalid_name'
  | 'invalid_argument'
  | 'unknown_api_key'
  | 'duplicate_api_key'
  | 'unknown_service'
  | 'duplicate_service'
  | 'invalid_mac'
  | 'duplicate_mac'
  | 'unknown_code'
  | 'expired_code'
  | 'used_code'
  | 'rate_limited';

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}
