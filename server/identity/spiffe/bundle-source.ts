import type { Logger } from 'pino';
import { fetchJson } from '../jwt/https-fetch.ts';
import { KeySource } from '../jwt/key-source.ts';
import { DEFAULT_REFRESH_HINT_SECONDS, parseSpiffeBundle } from './bundle.ts';

interface TrustDomainConfig {
  name: string;
  /** A SPIFFE bundle (JWK Set) file, re-read when it changes. */
  bundleFile?: string;
  /** An `https_web` bundle endpoint, refreshed per the bundle's spiffe_refresh_hint. */
  bundleEndpoint?: string;
  /** PEM CA to trust for the endpoint. */
  ca?: string;
}

export function trustDomainBundle(td: TrustDomainConfig, now: () => number, logger?: Logger): KeySource {
  const origin = td.bundleFile
    ? { file: td.bundleFile }
    : { fetch: () => fetchJson(td.bundleEndpoint!, { ca: td.ca }) };
  return new KeySource({
    name: `trust domain ${td.name} bundle`,
    origin,
    parse: (json) => {
      const bundle = parseSpiffeBundle(json);
      if (bundle.skipped.length)
        logger?.warn({ trustDomain: td.name, skipped: bundle.skipped }, 'bundle keys left out');
      return bundle;
    },
    defaultRefreshSeconds: DEFAULT_REFRESH_HINT_SECONDS,
    now,
    logger,
  });
}
