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

export type DiagnosticCode =
  | 'syntax' // not HuJSON
  | 'type' // a value of the wrong JSON type
  | 'duplicate-key'
  | 'unknown-section'
  | 'unsupported-section' // a Tailscale section Trellis does not implement
  | 'unknown-field'
  | 'unsupported-field'
  | 'missing-field'
  | 'invalid-action'
  | 'invalid-selector'
  | 'invalid-ports'
  | 'invalid-proto'
  | 'invalid-prefix'
  | 'invalid-name'
  | 'invalid-workload'
  | 'undefined-group'
  | 'undefined-tag' // a tag with no entry in tagOwners
  | 'undefined-host'
  | 'group-cycle'
  | 'self-source' // autogroup:self used where only a destination makes sense
  | 'self-mixed-source' // autogroup:self with a source that is not a user identity
  | 'test-failed';

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
