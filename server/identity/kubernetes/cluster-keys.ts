import type { Logger } from 'pino';
import { fetchJson } from '../jwt/https-fetch.ts';
import { parseJwks } from '../jwt/jwks.ts';
import { KeySource } from '../jwt/key-source.ts';

interface ClusterKeyConfig {
  name: string;
  issuer: string;
  /** A JWK Set file (e.g. `kubectl get --raw /openid/v1/jwks`); otherwise OIDC discovery. */
  jwksFile?: string;
  /** PEM CA to trust for the issuer's discovery and JWKS endpoints. */
  ca?: string;
  refreshSeconds: number;
}

/**
 * A cluster's service-account signing keys: from a file, or from `{iss}/.well-known/openid-configuration`
 * then its `jwks_uri` (both over HTTPS). Keys with `use` other than `sig` are left out.
 */
export function clusterKeySource(c: ClusterKeyConfig, now: () => number, logger?: Logger): KeySource {
  const fetchKeys = async () => {
    const discovery = await fetchJson(`${c.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { ca: c.ca });
    const doc = discovery as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== c.issuer) throw new Error(`discovery names issuer ${String(doc.issuer)}, not ${c.issuer}`);
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return fetchJson(doc.jwks_uri, { ca: c.ca });
  };
  return new KeySource({
    name: `cluster ${c.name} signing keys`,
    origin: c.jwksFile ? { file: c.jwksFile } : { fetch: fetchKeys },
    parse: (json) => {
      const { keys, skipped } = parseJwks(json, (jwk) => jwk.use === undefined || jwk.use === 'sig');
      if (skipped.length) logger?.warn({ cluster: c.name, skipped }, 'cluster keys left out');
      return { keys };
    },
    defaultRefreshSeconds: c.refreshSeconds,
    now,
    logger,
  });
}
