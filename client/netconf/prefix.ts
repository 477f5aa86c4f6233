import { formatPrefix, parsePrefix, type Prefix, type PrefixSyntax } from '../../protocol/ip/prefix.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';

/**
 * The agent's use of the address library (protocol/ip/) where a prefix that does not parse is
 * an error to throw: a route the kernel listed, a range the agent was configured with. Callers
 * that read input from outside catch PrefixError and say where the text came from.
 */
export class PrefixError extends CodedError<Extract<ClientCode<'netconf'>, 'netconf.invalid_prefix'>> {
  override readonly name = 'PrefixError';
}

export function prefixOrThrow(text: string, syntax: PrefixSyntax = {}): Prefix {
  const p = parsePrefix(text, syntax);
  if (!p.ok) throw new PrefixError('netconf.invalid_prefix', p.error.message);
  return p.value;
}

export const isPrefix = (text: string, syntax: PrefixSyntax = {}): boolean => parsePrefix(text, syntax).ok;

/** Canonical text of a prefix: lowercase, compressed, always with a length. */
export const canonicalPrefix = (text: string): string => formatPrefix(prefixOrThrow(text));
