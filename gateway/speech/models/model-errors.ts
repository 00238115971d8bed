/** A provider cannot serve because its model is not installed (or not where config says). */
import { ProviderError } from '../../providers.ts';

export class ModelMissingError extends ProviderError {
  constructor(
    message: string,
    /** The command that installs it, when voxgate knows one. */
    readonly install?: string,
  ) {
    super(install ? `${message} (install it: ${install})` : message, false, 'missing_model');
    this.name = 'ModelMissingError';
  }
}
