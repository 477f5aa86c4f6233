import { CodedError, type CodeOf } from '../../protocol/coded-error.ts';
import type { SERVER_CODES } from '../error-codes.ts';

/** The server's configuration (file, environment, flags) cannot be used; the message names the key and its source. */
export class ConfigError extends CodedError<CodeOf<typeof SERVER_CODES, 'config'>> {
  override readonly name = 'ConfigError';
}
