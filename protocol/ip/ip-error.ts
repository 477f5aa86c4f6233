import { codeCatalog, type CodeOf } from '../coded-error.ts';

/**
 * What the address parsers answer instead of throwing: every string in, a value or an error
 * with a stable code and a message that quotes the input (cut short when it is long).
 */
export const IP_CODES = codeCatalog({
  ip: [
    'ip.not_an_address', // not an IPv4 or IPv6 address in any accepted spelling
    'ip.bad_prefix_length', // the length after `/` is not a decimal 0-32 (IPv4) or 0-128 (IPv6)
    'ip.missing_prefix_length', // a bare address where a CIDR prefix is required
    'ip.host_bits_set', // bits past the prefix length are set (10.0.0.1/8)
  ],
});
type IpErrorCode = CodeOf<typeof IP_CODES>;

interface IpError {
  readonly code: IpErrorCode;
  readonly message: string;
}

export type IpResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpError };

export const ipOk = <T>(value: T): IpResult<T> => ({ ok: true, value });

export const ipFail = <T>(code: IpErrorCode, message: string): IpResult<T> => ({ ok: false, error: { code, message } });

const QUOTED_MAX = 64;

/** The input as messages show it: JSON-quoted, so control characters cannot forge log lines. */
export function quote(text: string): string {
  return JSON.stringify(text.length > QUOTED_MAX ? `${text.slice(0, QUOTED_MAX)}…` : text);
}
