/**
 * `workloads` (a Trellis extension): which tags a workload gets for the identity it proved.
 *   {"spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"]}
 *   {"kubernetes": {"cluster": "prod", "namespace": "payments", "serviceAccount": "api"}, "tags": ["tag:api"]}
 */
import type { JsonNode } from '../hujson.ts';
import type { WorkloadMapping, WorkloadMatch } from '../model.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const K8S_NAME = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|\*)$/;

/** `spiffe://TRUST-DOMAIN[/SEGMENT...]` where a segment may be `*`. */
function parseSpiffePattern(text: string): { ok: true; value: WorkloadMatch } | { ok: false; message: string } {
  const m = /^spiffe:\/\/([^/]*)(\/.*)?$/.exec(text);
  if (!m) return { ok: false, message: `"${text}" is not a SPIFFE ID pattern: write spiffe://TRUST-DOMAIN/PATH` };
  const trustDomain = m[1] ?? '';
  if (!TRUST_DOMAIN.test(trustDomain) || trustDomain.length > 255) {
    return {
      ok: false,
      message: `"${trustDomain}" is not a SPIFFE trust domain: lowercase letters, digits, ".", "-" or "_"`,
    };
  }
  const segments = m[2] === undefined ? [] : m[2].slice(1).split('/');
  for (const s of segments) {
    if (s === '*') continue;
    if (!SEGMENT.test(s) || s === '.' || s === '..') {
      return {
        ok: false,
        message: `"${text}": path segment "${s}" must be letters, digits, ".", "-", "_" or a whole-segment *`,
      };
    }
  }
  return { ok: true, value: { kind: 'spiffe', pattern: text, trustDomain, segments } };
}

export function loadWorkloads(ctx: LoadContext, section: JsonNode, defs: Definitions): WorkloadMapping[] {
  const out: WorkloadMapping[] = [];
  if (!ctx.isArray(section, 'workloads')) return out;
  (section.children ?? []).forEach((entry, i) => {
    const what = `workloads[${i}]`;
    if (!ctx.isObject(entry, what)) return;
    const f = ctx.fields(entry, what, { known: ['spiffe', 'kubernetes', 'tags'], required: ['tags'] });
    const spiffe = f.get('spiffe');
    const k8s = f.get('kubernetes');
    if (!!spiffe === !!k8s) {
      ctx.report('policy.invalid_workload', `${what} needs exactly one of "spiffe" or "kubernetes"`, entry);
      return;
    }
    let match: WorkloadMatch | undefined;
    if (spiffe) {
      const s = ctx.string(spiffe.value, `${what} spiffe`);
      if (s) {
        const r = parseSpiffePattern(s.value);
        if (r.ok) match = r.value;
        else ctx.report('policy.invalid_workload', `${what}: ${r.message}`, spiffe.value);
      }
    } else if (k8s && ctx.isObject(k8s.value, `${what} kubernetes`)) {
      const kf = ctx.fields(k8s.value, `${what} kubernetes`, {
        known: ['cluster', 'namespace', 'serviceAccount'],
        required: ['cluster', 'namespace', 'serviceAccount'],
      });
      const get = (name: string): string | undefined => {
        const node = kf.get(name);
        const v = node && ctx.string(node.value, `${what} kubernetes.${name}`);
        if (v && node && !K8S_NAME.test(v.value)) {
          ctx.report(
            'policy.invalid_workload',
            `${what} kubernetes.${name}: "${v.value}" is not a Kubernetes name or *`,
            node.value,
          );
          return undefined;
        }
        return v?.value;
      };
      const cluster = get('cluster');
      const namespace = get('namespace');
      const serviceAccount = get('serviceAccount');
      if (cluster && namespace && serviceAccount) match = { kind: 'kubernetes', cluster, namespace, serviceAccount };
    }
    const tags: string[] = [];
    const tagsField = f.get('tags');
    for (const t of tagsField ? ctx.strings(tagsField.value, `${what} tags`) : []) {
      if (!defs.tags.has(t.value))
        ctx.report('policy.unknown_tag', `${what}: tag "${t.value}" has no owner: declare it in tagOwners`, t.node);
      else tags.push(t.value);
    }
    if (match) out.push({ at: ctx.at(entry), match, tags });
  });
  return out;
}
