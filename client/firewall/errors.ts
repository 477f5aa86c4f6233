import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';

/** A filter rule the agent refuses to enforce; `where` points into the rule list. */
export class FirewallError extends CodedError<ClientCode<'firewall'>> {
  override readonly name = 'FirewallError';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super('firewall.invalid_rule', `${where}: ${message}`);
  }
}
