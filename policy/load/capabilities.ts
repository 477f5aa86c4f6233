/** A grant's `app`: capability names checked, their values kept as plain JSON for the destination. */
import type { JsonNode } from '../hujson.ts';
import type { LoadContext } from './context.ts';

/** Capability names in Tailscale's own domain, which only its control plane may define. */
function isTailscaleCapability(name: string): boolean {
  const domain = name.slice(0, name.indexOf('/'));
  return domain === 'tailscale.com' || domain.endsWith('.tailscale.com');
}

/** Trellis's names for the Tailscale capabilities it implements itself. */
const TRELLIS_EQUIVALENT: Readonly<Record<string, string>> = {
  'tailscale.com/cap/kubernetes': 'trellis.dev/cap/kubernetes',
};

export function readCapabilities(ctx: LoadContext, what: string, app: JsonNode): Record<string, unknown[]> {
  const caps: Record<string, unknown[]> = {};
  for (const { name, key, value } of ctx.entries(app, `${what} app`)) {
    if (!/^[a-z0-9.-]+\/[A-Za-z0-9._/-]+$/.test(name)) {
      ctx.report('policy.invalid_name', `${what} app: "${name}" is not a capability name: write DOMAIN/NAME`, key);
      continue;
    }
    if (isTailscaleCapability(name)) {
      const instead = TRELLIS_EQUIVALENT[name];
      ctx.report(
        'policy.reserved_capability',
        `${what} app: "${name}" is in Tailscale's own domain, which policies may not name: ${instead ? `Trellis's capability is ${instead}` : 'name your capabilities in a domain of your own (example.com/cap/NAME)'}`,
        key,
      );
      continue;
    }
    if (!ctx.isArray(value, `${what} app "${name}"`)) continue;
    caps[name] = (value.children ?? []).map((c) => jsonValue(c));
  }
  return caps;
}

function jsonValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries(
        (node.children ?? []).map((p) => [String(p.children?.[0]?.value), jsonValue(p.children?.[1] as JsonNode)]),
      );
    case 'array':
      return (node.children ?? []).map(jsonValue);
    default:
      return node.value;
  }
}
