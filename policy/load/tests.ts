/**
 * `tests`: assertions the policy must satisfy, checked every time it is loaded.
 * `{src, proto?, accept: ["host:port"], deny: ["host:port"]}`.
 */
import type { JsonNode } from '../hujson.ts';
import type { Located, PolicyTest, Selector, TestDestination } from '../model.ts';
import { parseProto, splitDestination } from '../ports.ts';
import { parseSelector } from '../selector.ts';
import type { LoadContext } from './context.ts';
import type { Definitions } from './definitions.ts';

const TEST_FIELDS = {
  known: ['src', 'proto', 'accept', 'deny'],
  required: ['src'],
  unsupported: { srcPostureAttrs: 'device posture is not implemented' },
} as const;

function isSingleHost(s: Selector): boolean {
  if (s.kind === 'prefix' || s.kind === 'host') return s.prefix.bits === (s.prefix.family === 4 ? 32 : 128);
  return s.kind === 'user' || s.kind === 'tag';
}

export function loadTests(ctx: LoadContext, section: JsonNode, defs: Definitions): PolicyTest[] {
  const out: PolicyTest[] = [];
  if (!ctx.isArray(section, 'tests')) return out;
  (section.children ?? []).forEach((entry, i) => {
    const what = `tests[${i}]`;
    if (!ctx.isObject(entry, what)) return;
    const f = ctx.fields(entry, what, TEST_FIELDS);
    let src: Located<Selector> | undefined;
    const srcField = f.get('src');
    const s = srcField && ctx.string(srcField.value, `${what} src`);
    if (s && srcField) {
      const r = parseSelector(s.value, defs);
      if (!r.ok) ctx.report(r.code, `${what} src: ${r.message}`, srcField.value);
      else if (!['user', 'group', 'tag', 'host', 'prefix'].includes(r.selector.kind)) {
        ctx.report(
          'policy.invalid_selector',
          `${what} src: "${s.value}" is not something to test from: use a user, group, tag, host or IP`,
          srcField.value,
        );
      } else src = { value: r.selector, at: s.at };
    }
    let protos = [6];
    const proto = f.get('proto');
    const p = proto && ctx.string(proto.value, `${what} proto`);
    if (p && proto) {
      const r = parseProto(p.value);
      if (r.ok) protos = [r.value];
      else ctx.report('policy.invalid_proto', `${what}: ${r.message}`, proto.value);
    }
    const dsts = (field: 'accept' | 'deny'): TestDestination[] => {
      const node = f.get(field);
      const list: TestDestination[] = [];
      for (const d of node ? ctx.strings(node.value, `${what} ${field}`) : []) {
        const split = splitDestination(d.value);
        if (!split.ok || !/^[0-9]{1,5}$/.test(split.value.ports) || Number(split.value.ports) > 65535) {
          ctx.report(
            'policy.invalid_ports',
            `${what} ${field}: "${d.value}" must be one host and one port, such as tag:web:443`,
            d.node,
          );
          continue;
        }
        const r = parseSelector(split.value.alias, defs);
        if (!r.ok) {
          ctx.report(r.code, `${what} ${field}: ${r.message}`, d.node);
          continue;
        }
        if (!isSingleHost(r.selector)) {
          ctx.report(
            'policy.invalid_selector',
            `${what} ${field}: "${split.value.alias}" is not a single host: use a user, tag, host or IP`,
            d.node,
          );
          continue;
        }
        list.push({ selector: { value: r.selector, at: d.at }, port: Number(split.value.ports), text: d.value });
      }
      return list;
    };
    const accept = dsts('accept');
    const deny = dsts('deny');
    if (src) out.push({ at: ctx.at(entry), src, protos, accept, deny });
  });
  return out;
}
