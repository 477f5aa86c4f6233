import { z } from 'zod';

/** The capability a policy `app` grant gives a caller towards the proxy's node. */
export const KUBERNETES_CAPABILITY = 'trellis.dev/cap/kubernetes';

/**
 * One value of the capability, shaped like Tailscale's: `{"impersonate": {"groups": [...]}}`.
 * Unknown fields are allowed (a newer policy may carry more), unknown shapes are skipped.
 */
const CapabilityValue = z.looseObject({
  impersonate: z.looseObject({ groups: z.array(z.string()).max(256).optional() }).optional(),
});

export interface KubernetesGrant {
  /** The groups every value of the capability names together, in the order first seen. */
  groups: string[];
  /** Values (or group names) that were skipped because they cannot be used: for the log. */
  skipped: string[];
}

/**
 * What the caller may be in the cluster, from its capability map: undefined when it holds no
 * Kubernetes capability at all. A group name must be usable as an HTTP header value (visible
 * ASCII and spaces, no leading or trailing space); anything else is skipped, never mangled.
 */
export function kubernetesGrant(capMap: Record<string, unknown[]>): KubernetesGrant | undefined {
  const values = capMap[KUBERNETES_CAPABILITY];
  if (values === undefined) return undefined;
  const groups: string[] = [];
  const skipped: string[] = [];
  for (const value of values) {
    const parsed = CapabilityValue.safeParse(value);
    if (!parsed.success) {
      skipped.push(JSON.stringify(value).slice(0, 200));
      continue;
    }
    for (const group of parsed.data.impersonate?.groups ?? []) {
      if (!isHeaderSafe(group)) skipped.push(JSON.stringify(group));
      else if (!groups.includes(group)) groups.push(group);
    }
  }
  return { groups, skipped };
}

export function isHeaderSafe(value: string): boolean {
  return value.length > 0 && value.length <= 253 && /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value);
}
