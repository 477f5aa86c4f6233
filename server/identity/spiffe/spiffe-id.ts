/**
 * SPIFFE IDs as the SPIFFE-ID standard defines them: `spiffe://<trust-domain>[/<path>]`.
 * Returns the parsed ID, or the reason it is not one (for an error a person can act on).
 */
interface SpiffeId {
  trustDomain: string;
  /** The path with its leading `/`, or '' for the trust domain itself. */
  path: string;
  /** The whole ID, as given. */
  id: string;
}

const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;
const SCHEME = 'spiffe://';

export function parseSpiffeId(value: unknown): SpiffeId | string {
  if (typeof value !== 'string') return 'it is not a string';
  if (Buffer.byteLength(value) > MAX_ID_BYTES) return `it is longer than ${MAX_ID_BYTES} bytes`;
  if (!value.startsWith(SCHEME)) {
    return value.toLowerCase().startsWith(SCHEME)
      ? 'the scheme must be lowercase "spiffe://"'
      : 'it does not start with "spiffe://"';
  }
  const rest = value.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  const domainProblem = trustDomainProblem(trustDomain);
  if (domainProblem) return domainProblem;
  if (path !== '') {
    if (path.endsWith('/')) return 'the path must not end with "/"';
    for (const segment of path.slice(1).split('/')) {
      if (segment === '') return 'the path has an empty segment';
      if (segment === '.' || segment === '..') return `the path has a "${segment}" segment`;
      if (!SEGMENT_CHARS.test(segment))
        return 'path segments may hold only letters, digits, ".", "-" and "_" (no query, fragment or percent-encoding)';
    }
  }
  return { trustDomain, path, id: value };
}

/** Why a trust-domain name is not valid, or undefined when it is. */
export function trustDomainProblem(name: string): string | undefined {
  if (name === '') return 'the trust domain is empty';
  if (Buffer.byteLength(name) > MAX_TRUST_DOMAIN_BYTES)
    return `the trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`;
  if (name.includes('@')) return 'the trust domain must not hold userinfo';
  if (name.includes(':')) return 'the trust domain must not hold a port';
  if (!TRUST_DOMAIN_CHARS.test(name))
    return 'the trust domain may hold only lowercase letters, digits, ".", "-" and "_"';
  return undefined;
}
