/** The policy language: parse, check, compile per node, evaluate, explain, diff, format. */
export type { Diagnostic, DiagnosticCode, Position } from './diagnostics.ts';
export { formatDiagnostic, formatPosition } from './diagnostics.ts';
export type { Policy, Rule, Selector } from './model.ts';
export type { PolicyNode } from './node.ts';
export { parsePolicy, type ParseResult } from './parse.ts';
export { PolicyNetwork, type NetworkOptions } from './network.ts';
export { expandTemplate, type FilterTemplate, type TemplateDst, type TemplateRule } from './filter-template.ts';
export { DEFAULT_MESH, type MeshRanges } from './mesh.ts';
export { tagsForWorkload, type WorkloadIdentity } from './workloads.ts';
export { mayOwnTag, autoApprovedRoutes } from './ownership.ts';
export { ALLOW_ALL_POLICY } from './starter.ts';
export { evaluate, explain, type Evaluation, type EvaluationQuery, type RuleMatch } from './evaluate.ts';
export { diffAccess, type AccessChange, type AccessDiff } from './diff.ts';
export { formatDiffMarkdown, type DiffMarkdownOptions } from './diff-markdown.ts';
export { formatPolicy } from './format.ts';
export { compileTopology, toTailscaleRule, type TailscaleFilterRule, type TailscaleView } from './tailscale-format.ts';
export { readTopology, toTopology, type TopologyRead } from './topology.ts';
export { checkSyntax } from './syntax.ts';
