import { codeCatalog, type CodeOf } from '../protocol/coded-error.ts';

/**
 * Problems found in a policy file, each with where it is and a stable code that tools can
 * switch on. Messages are for people and say what is wrong; codes never change meaning.
 */

export interface Diagnostic {
  code: DiagnosticCode;
  message: string;
  file: string;
  line: number;
  column: number;
}

export const POLICY_CODES = codeCatalog({
  policy: [
    'policy.syntax', // not HuJSON
    'policy.wrong_type', // a value of the wrong JSON type
    'policy.duplicate_key',
    'policy.unknown_section',
    'policy.unsupported_section', // a Tailscale section Trellis does not implement
    'policy.unknown_field',
    'policy.unsupported_field',
    'policy.missing_field',
    'policy.invalid_action',
    'policy.invalid_selector',
    'policy.invalid_ports',
    'policy.invalid_proto',
    'policy.invalid_prefix',
    'policy.invalid_name',
    'policy.invalid_workload',
    'policy.unknown_group',
    'policy.unknown_tag', // a tag with no entry in tagOwners
    'policy.unknown_host',
    'policy.group_cycle',
    'policy.self_source', // autogroup:self used where only a destination makes sense
    'policy.self_mixed_source', // autogroup:self with a source that is not a user identity
    'policy.danger_all_destination', // autogroup:danger-all is a source only
    'policy.whole_range_destination', // a grant to 0.0.0.0/0 or ::/0 instead of * or autogroup:internet
    'policy.invalid_via', // a grant's via names something other than a tag
    'policy.via_destination', // a via grant's destination is not an address, prefix or autogroup:internet
    'policy.empty_grant', // a grant with neither ip nor app
    'policy.app_internet', // capabilities granted towards autogroup:internet
    'policy.reserved_capability', // a capability in Tailscale's own domain (tailscale.com)
    'policy.test_failed',
    // Questions asked of a loaded policy (evaluate, explain), not problems in the file:
    'policy.unknown_node', // the query names a node the network does not have
  ],
});

/** The code of a problem in a policy file, or of a question about one that cannot be answered. */
export type PolicyCode = CodeOf<typeof POLICY_CODES>;
export type DiagnosticCode = Exclude<PolicyCode, 'policy.unknown_node'>;

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

/** Where a value sits in its file: 1-based line and column. */
export interface Position {
  file: string;
  line: number;
  column: number;
}

export function formatPosition(p: Position): string {
  return `${p.file}:${p.line}:${p.column}`;
}
