import { tagsForWorkload, type Policy } from '../../../policy/index.ts';
import { forbidden } from '../../errors.ts';
import type { Authenticator } from '../identity.ts';
import { checkAudience, checkTimes } from '../jwt/claims.ts';
import { decodeCompactJws } from '../jwt/compact.ts';
import type { KeySource } from '../jwt/key-source.ts';
import { quote, refused } from '../jwt/refusal.ts';
import { checkAlg, verifySignature } from '../jwt/verify.ts';

/** One trusted cluster: its alias in the policy, its token issuer, and where its keys are. */
interface ClusterTrust {
  name: string;
  issuer: string;
  audience: string;
  keys: KeySource;
}

interface KubernetesAuthenticatorOptions {
  clusters: readonly ClusterTrust[];
  policy: () => Policy;
  now: () => number;
  leewaySeconds: number;
  maxTokenBytes: number;
}

type KubernetesCredential = { type: 'kubernetes'; token: string; cluster?: string };

const SUB = /^system:serviceaccount:([^:]+):([^:]+)$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Projected service-account tokens, validated offline against the cluster's keys:
 *   1. compact JWS, RS/ES/PS algorithm;
 *   2. the cluster: named by the credential, or found by the token's `iss`; `iss` exact;
 *   3. signature with the cluster's keys (OIDC discovery's jwks_uri, or a file);
 *   4. our audience in `aud`; exp in the future, nbf/iat not ahead;
 *   5. `sub` system:serviceaccount:<ns>:<name>, agreeing with the `kubernetes.io` claim.
 * Identity = cluster, namespace, service account; the pod's name and uid are recorded.
 */
export function kubernetesAuthenticator(o: KubernetesAuthenticatorOptions): Authenticator<KubernetesCredential> {
  return {
    type: 'kubernetes',
    async authenticate(credential) {
      const { token } = credential;
      const { header, claims } = decodeCompactJws(token, o.maxTokenBytes);
      const alg = checkAlg(header.alg);
      const cluster =
        credential.cluster !== undefined
          ? o.clusters.find((c) => c.name === credential.cluster)
          : o.clusters.find((c) => c.issuer === claims.iss);
      if (!cluster) {
        throw refused(
          'kubernetes.unknown_cluster',
          credential.cluster !== undefined
            ? `cluster ${quote(credential.cluster)} is not configured on this server`
            : `no configured cluster issues tokens as ${quote(claims.iss)}`,
        );
      }
      if (claims.iss !== cluster.issuer) {
        throw refused(
          'jwt.wrong_issuer',
          `the token's issuer ${quote(claims.iss)} is not cluster ${cluster.name}'s (${cluster.issuer})`,
        );
      }
      if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
        throw refused('jwt.malformed', 'the token\'s "kid" must be a non-empty string');
      }
      const kid = header.kid as string | undefined;
      const keys = await cluster.keys.keysFor(kid);
      if (keys.length === 0)
        throw refused(
          'jwt.unknown_kid',
          `cluster ${cluster.name} has no signing key ${kid === undefined ? '' : `with kid ${quote(kid)}`}`.trim(),
        );
      await verifySignature(token, alg, keys);
      checkAudience(claims, cluster.audience);
      const { expiresAt } = checkTimes(claims, o.now(), o.leewaySeconds);

      const who = serviceAccountOf(claims);
      const tags = tagsForWorkload(o.policy(), {
        kubernetes: { cluster: cluster.name, namespace: who.namespace, serviceAccount: who.serviceAccount },
      });
      const subject = `${cluster.name}/${who.namespace}/${who.serviceAccount}`;
      if (tags.length === 0) {
        throw forbidden(
          'workload.no_tags',
          `the policy maps service account ${subject} to no tags: add a "workloads" entry for it to let it join`,
        );
      }
      return {
        tags,
        ephemeral: true,
        expiresAt,
        method: 'kubernetes',
        subject,
        proof: { method: 'kubernetes', cluster: cluster.name, ...who },
      };
    },
  };
}

function serviceAccountOf(claims: Record<string, unknown>) {
  const m = typeof claims.sub === 'string' ? SUB.exec(claims.sub) : null;
  if (!m)
    throw refused(
      'kubernetes.bad_subject',
      `the token's sub ${quote(claims.sub)} is not system:serviceaccount:<namespace>:<name>`,
    );
  const [, namespace, serviceAccount] = m as unknown as [string, string, string];
  if (!DNS_NAME.test(namespace) || !DNS_NAME.test(serviceAccount)) {
    throw refused('kubernetes.bad_subject', "the namespace and service account in the token's sub must be DNS names");
  }
  const k8s = claims['kubernetes.io'];
  if (typeof k8s !== 'object' || k8s === null) {
    throw refused(
      'kubernetes.not_projected',
      'the token has no "kubernetes.io" claim: use a projected service-account token, not a legacy secret token',
    );
  }
  const info = k8s as {
    namespace?: unknown;
    serviceaccount?: { name?: unknown; uid?: unknown };
    pod?: { name?: unknown; uid?: unknown };
    node?: { name?: unknown };
  };
  if (info.namespace !== namespace || info.serviceaccount?.name !== serviceAccount) {
    throw refused(
      'kubernetes.inconsistent',
      'the token\'s "kubernetes.io" claim names another namespace or service account than its sub',
    );
  }
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 253 ? v : undefined);
  return {
    namespace,
    serviceAccount,
    serviceAccountUid: str(info.serviceaccount?.uid),
    podName: str(info.pod?.name),
    podUid: str(info.pod?.uid),
    nodeName: str(info.node?.name),
  };
}
