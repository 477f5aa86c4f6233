/**
 * parsePolicy: from HuJSON text to a checked `Policy`, or every problem found.
 *   1. read HuJSON, keeping positions;
 *   2. check the sections: known ones are read, Tailscale ones Trellis lacks are refused;
 *   3. collect the names (groups, tags, hosts), then read everything that refers to them;
 *   4. resolve group nesting and reject cycles;
 *   5. run the embedded `tests` against the result.
 */
import { type Diagnostic } from './diagnostics.ts';
import { parseHuJSON, sourceText } from './hujson.ts';
import { loadAutoApprovers } from './load/approvers.ts';
import { LoadContext } from './load/context.ts';
import { loadDefinitionBodies, loadDefinitionNames } from './load/definitions.ts';
import { loadAcls } from './load/acls.ts';
import { loadGrants } from './load/grants.ts';
import { loadTests } from './load/tests.ts';
import { loadWorkloads } from './load/workload-mappings.ts';
import { runEmbeddedTests } from './embedded-tests.ts';
import { resolveGroups } from './membership.ts';
import type { Policy, Rule } from './model.ts';
import type { JsonNode } from './hujson.ts';

const SECTIONS = ['groups', 'tagOwners', 'hosts', 'acls', 'grants', 'autoApprovers', 'tests', 'workloads'];

/** Tailscale sections that Trellis refuses rather than silently ignoring. */
const UNSUPPORTED_SECTIONS: Record<string, string> = {
  ssh: 'Tailscale SSH is not implemented',
  sshTests: 'Tailscale SSH is not implemented',
  nodeAttrs: 'node attributes are not implemented',
  postures: 'device posture is not implemented',
  defaultSrcPosture: 'device posture is not implemented',
  ipsets: 'IP sets are not implemented; use hosts',
  derpMap: 'Trellis relays through its own server, not DERP',
  disableIPv4: 'every node has an IPv4 and an IPv6 address',
  OneCGNATRoute: 'client route settings are not part of the policy',
  randomizeClientPort: 'client port settings are not part of the policy',
};

type ParseResult = { policy: Policy; diagnostics: [] } | { policy?: undefined; diagnostics: Diagnostic[] };

interface ParseOptions {
  /** false: leave the embedded tests to the caller (testResults), to show each one's result. */
  runTests?: boolean;
}

export function parsePolicy(text: string, file = 'policy.hujson', options: ParseOptions = {}): ParseResult {
  const src = sourceText(text, file);
  const { root, diagnostics } = parseHuJSON(src);
  if (diagnostics.length > 0) return { diagnostics };
  const ctx = new LoadContext(src);
  if (!root) {
    ctx.diagnostics.push({
      code: 'policy.syntax',
      message: 'the policy is empty: write {} at least',
      file,
      line: 1,
      column: 1,
    });
    return { diagnostics: ctx.diagnostics };
  }
  if (!ctx.isObject(root, 'the policy')) return { diagnostics: ctx.diagnostics };

  const sections = new Map<string, JsonNode>();
  for (const { name, key, value } of ctx.entries(root, 'the policy')) {
    const reason = UNSUPPORTED_SECTIONS[name];
    if (reason !== undefined)
      ctx.report('policy.unsupported_section', `section "${name}" is not supported by Trellis: ${reason}`, key);
    else if (!SECTIONS.includes(name))
      ctx.report('policy.unknown_section', `unknown section "${name}" (expected one of ${SECTIONS.join(', ')})`, key);
    else sections.set(name, value);
  }

  const defs = loadDefinitionNames(ctx, sections);
  loadDefinitionBodies(ctx, sections, defs);
  const closure = resolveGroups(defs.groups);
  for (const cycle of closure.cycles) {
    const at = defs.groups.get(cycle.group)?.at;
    if (at)
      ctx.diagnostics.push({
        code: 'policy.group_cycle',
        message: `groups contain each other: ${cycle.path.join(' -> ')}`,
        ...at,
      });
  }

  const rules: Rule[] = [];
  const acls = sections.get('acls');
  if (acls) loadAcls(ctx, acls, defs, rules);
  const grants = sections.get('grants');
  if (grants) loadGrants(ctx, grants, defs, rules);
  const approvers = sections.get('autoApprovers');
  const testsNode = sections.get('tests');
  const workloadsNode = sections.get('workloads');
  const policy: Policy = {
    file,
    text,
    groups: defs.groups,
    tagOwners: defs.tags,
    hosts: defs.hosts,
    rules,
    autoApprovers: approvers ? loadAutoApprovers(ctx, approvers, defs) : { routes: [], exitNode: [] },
    tests: testsNode ? loadTests(ctx, testsNode, defs) : [],
    workloads: workloadsNode ? loadWorkloads(ctx, workloadsNode, defs) : [],
    groupsOfUser: closure.groupsOfUser,
    groupsOfIdpGroup: closure.groupsOfIdpGroup,
  };
  if (ctx.diagnostics.length > 0) return { diagnostics: sortDiagnostics(ctx.diagnostics) };

  const failures = options.runTests === false ? [] : runEmbeddedTests(policy);
  if (failures.length > 0) return { diagnostics: sortDiagnostics(failures) };
  return { policy, diagnostics: [] };
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column);
}
