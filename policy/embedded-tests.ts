/**
 * Runs a policy's `tests`. An `accept` holds when every identity of the source may reach the
 * destination on that port; a `deny` holds when none may. A failing test rejects the policy.
 */
import { type Diagnostic, formatPosition, type Position } from './diagnostics.ts';
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

/** One assertion of a test: a source that should, or should not, reach one destination. */
export interface TestResult {
  at: Position;
  src: string;
  dst: string;
  expect: 'accept' | 'deny';
  passed: boolean;
  /** Why it failed. */
  message?: string;
}

function runOne(policy: Policy, test: PolicyTest): TestResult[] {
  const out: TestResult[] = [];
  const sources = principalsOf(policy, test.src.value);
  const srcText = selectorText(test.src.value);
  const result = (d: TestDestination, expect: 'accept' | 'deny', message?: string): TestResult => ({
    at: { file: d.selector.at.file, line: d.selector.at.line, column: d.selector.at.column },
    src: srcText,
    dst: d.text,
    expect,
    passed: message === undefined,
    ...(message !== undefined && { message }),
  });
  for (const d of test.accept) {
    const dst = destinationPrincipal(d);
    const denied = sources.filter((s) => rulesAllowing(policy, s, dst, d.port, test.protos).length === 0);
    if (sources.length === 0 || denied.length > 0) {
      const who =
        sources.length === 0 ? `${srcText} has no members` : `${denied.map((s) => s.label).join(', ')} cannot`;
      out.push(
        result(
          d,
          'accept',
          `test failed: ${srcText} should reach ${d.text}, but ${who}${sources.length === 0 ? '' : ': no rule allows it'}`,
        ),
      );
    } else out.push(result(d, 'accept'));
  }
  for (const d of test.deny) {
    const dst = destinationPrincipal(d);
    const allowed = sources
      .map((s) => ({ s, allowing: rulesAllowing(policy, s, dst, d.port, test.protos) }))
      .find((x) => x.allowing.length > 0);
    out.push(
      allowed
        ? result(
            d,
            'deny',
            `test failed: ${srcText} should not reach ${d.text}, but ${allowed.s.label} can through the rule at ${allowed.allowing.map((r) => formatPosition(r.at)).join(', ')}`,
          )
        : result(d, 'deny'),
    );
  }
  return out;
}

/** Every assertion of the policy's `tests`, passed or not, in the file's order. */
export function testResults(policy: Policy): TestResult[] {
  return policy.tests.flatMap((t) => runOne(policy, t));
}

export function runEmbeddedTests(policy: Policy): Diagnostic[] {
  return testResults(policy)
    .filter((r) => !r.passed)
    .map((r) => ({ code: 'policy.test_failed' as const, message: r.message!, ...r.at }));
}
