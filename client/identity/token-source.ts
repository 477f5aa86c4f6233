/**
 * Where a workload's token comes from: a file that something else keeps fresh (the kubelet's
 * projected volume, spiffe-helper), or the SPIFFE Workload API. The agent reads it to join and
 * again whenever it may have changed, and registers with each new token before the last expires.
 */
export interface TokenSource {
  /** For logs and errors: "token file /var/run/secrets/tokens/trellis". */
  readonly description: string;
  /** The current token, checked to look like a JWT; throws a CredentialSourceError. */
  read(): Promise<string>;
  /**
   * Calls `onChange` when the token may have changed (file events); returns a stop function.
   * Sources without change events return a no-op and rely on `pollMs`.
   */
  watch(onChange: () => void): () => void;
  /** How often to read again without an event (a fallback for missed or absent events). */
  readonly pollMs: number;
  close?(): void;
}
