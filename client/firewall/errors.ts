/** A filter rule the agent refuses to enforce; `where` points into the rule list. */
export class FirewallError extends Error {
  override readonly name = 'FirewallError';
  readonly code = 'firewall.invalid_rule';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${where}: ${message}`);
  }
}
