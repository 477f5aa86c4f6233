/**
 * Runs a policy's `tests`. An `accept` holds when every identity of the source may reach the
 * destination on that port; a `deny` holds when none may. A failing test rejects the policy.
 */
import { type Diagnostic, formatPosition } from './diagnostics.ts';
import type { Policy, PolicyTest, Rule, TestDestination } from './model.ts';
import { type Principal, principalMatches, principalsOf } from './principal.ts';
import { prefixRange } from '../protocol/ip/range.ts';
import { selectorText } from './selector.ts';

function destinationPrincipal(d: TestDestination): Principal {
  const s = d.selector.value;
  if (s.kind === 'user') return { user: s.email, tags: [], label: s.email };
  if (s.kind === 'tag') return { tags: [s.name], label: s.name };
  if (s.kind === 'prefix' || s.kind === 'host')
    return { tags: [], range: prefixRange(s.prefix), label: selectorText(s) };
  return { tags: [], label: selectorText(s) };
}

/** The rules that let `src` reach `dst` on `port` with one of `protos`. */
function rulesAllowing(policy: Policy, src: Principal, dst: Principal, port: number, protos: number[]): Rule[] {
  return policy.rules.filter((r) => {
    if (r.app) return false;
    if (!r.protos.some((p) => protos.includes(p))) return false;
    if (!r.src.some((s) => principalMatches(policy, s.value, src))) return false;
    return r.dst.some((d) => {
      if (!d.ports.some((p) => p.first <= port && port <= p.last)) return false;
      const s = d.selector.value;
      if (s.kind === 'autogroup' && s.name === 'self') {
        return src.tags.length === 0 && dst.tags.length === 0 && src.user !== undefined && src.user === dst.user;
      }
      return principalMatches(policy, s, dst);
    });
  });
}

function runOne(policy: Policy, test: PolicyTest): Diagnostic[] {
  const out: Diagnostic[] = [];
  const sources = principalsOf(policy, test.src.value);
  const srcText = selectorText(test.src.value);
  for (const d of test.accept) {
    const dst = destinationPrincipal(d);
    const denied = sources.filter((s) => rulesAllowing(policy, s, dst, d.port, test.protos).length === 0);
    if (sources.length === 0 || denied.length > 0) {
      const who =
        sources.length === 0 ? `${srcText} has no members` : `${denied.map((s) => s.label).join(', ')} cannot`;
      out.push({
        code: 'policy.test_failed',
        message: `test failed: ${srcText} should reach ${d.text}, but ${who}${sources.length === 0 ? '' : ': no rule allows it'}`,
        ...d.selector.at,
      });
    }
  }
  for (const d of test.deny) {
    const dst = destinationPrincipal(d);
    for (const s of sources) {
      const allowing = rulesAllowing(policy, s, dst, d.port, test.protos);
      if (allowing.length > 0) {
        out.push({
          code: 'policy.test_failed',
          message: `test failed: ${srcText} should not reach ${d.text}, but ${s.label} can through the rule at ${allowing.map((r) => formatPosition(r.at)).join(', ')}`,
          ...d.selector.at,
        });
        break;
      }
    }
  }
  return out;
}

export function runEmbeddedTests(policy: Policy): Diagnostic[] {
  return policy.tests.flatMap((t) => runOne(policy, t));
}
