import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Policy } from '../../policy/index.ts';
import type { UserService } from '../admin/user-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { Authenticator } from './identity.ts';
import { clusterKeySource } from './kubernetes/cluster-keys.ts';
import { kubernetesAuthenticator } from './kubernetes/kubernetes-authenticator.ts';
import { LoginService } from './oidc/login-service.ts';
import { LoginSessions } from './oidc/login-sessions.ts';
import { oidcAuthenticator } from './oidc/oidc-authenticator.ts';
import { OidcProviders } from './oidc/providers.ts';
import { preAuthKeyAuthenticator } from './preauth-authenticator.ts';
import { trustDomainBundle } from './spiffe/bundle-source.ts';
import { spiffeAuthenticator } from './spiffe/spiffe-authenticator.ts';

interface IdentityParts {
  /** One per enabled credential type. */
  authenticators: Authenticator[];
  /** Present when OIDC providers are configured. */
  logins?: LoginService;
  /** The configured providers, discovered on first use; shared by the console's sign-in. */
  providers: OidcProviders;
}

/**
 * The identity part of the composition root: an authenticator for each credential type the
 * config enables (pre-auth keys always; SPIFFE, Kubernetes and OIDC when configured).
 */
export function setUpIdentity(
  config: ServerConfig,
  d: {
    store: Store;
    users: UserService;
    audit: AuditLog;
    policy: () => Policy;
    now: () => number;
    logger: Logger;
    publicUrl: () => string;
  },
): IdentityParts {
  const { now, logger } = d;
  const readCa = (file?: string) => (file ? readFileSync(file, 'utf8') : undefined);
  const authenticators: Authenticator[] = [preAuthKeyAuthenticator(d.store, now) as Authenticator];

  const { spiffe, kubernetes, oidc } = config;
  if (spiffe.trustDomains.length > 0) {
    const bundles = new Map(
      spiffe.trustDomains.map((td) => [td.name, trustDomainBundle({ ...td, ca: readCa(td.caFile) }, now, logger)]),
    );
    authenticators.push(
      spiffeAuthenticator({
        audience: spiffe.audience!,
        bundles,
        policy: d.policy,
        now,
        leewaySeconds: spiffe.leewaySeconds,
        maxTokenBytes: spiffe.maxTokenBytes,
      }) as Authenticator,
    );
  }
  if (kubernetes.clusters.length > 0) {
    const clusters = kubernetes.clusters.map((c) => ({
      name: c.name,
      issuer: c.issuer,
      audience: c.audience,
      keys: clusterKeySource({ ...c, ca: readCa(c.caFile) }, now, logger),
    }));
    authenticators.push(
      kubernetesAuthenticator({
        clusters,
        policy: d.policy,
        now,
        leewaySeconds: kubernetes.leewaySeconds,
        maxTokenBytes: kubernetes.maxTokenBytes,
      }) as Authenticator,
    );
  }
  let logins: LoginService | undefined;
  const providers = new OidcProviders(oidc.providers);
  if (oidc.providers.length > 0) {
    logins = new LoginService({
      providers,
      sessions: new LoginSessions(d.store, now),
      users: d.users,
      audit: d.audit,
      now,
      publicUrl: d.publicUrl,
      loginTimeoutMs: oidc.loginTimeoutSeconds * 1000,
    });
    authenticators.push(oidcAuthenticator(logins, config.nodes.keyExpirySeconds * 1000, now) as Authenticator);
  }
  return { authenticators, logins, providers };
}
