/**
 * Shared helpers for reading policy sections: type checks that report with positions, and
 * field checks that reject unknown and unsupported fields instead of ignoring them.
 */
import type { Diagnostic, DiagnosticCode, Position } from '../diagnostics.ts';
import { type JsonNode, positionAt, properties, type SourceText } from '../hujson.ts';
import type { Located } from '../model.ts';

interface FieldSpec {
  known: readonly string[];
  required?: readonly string[];
  /** Fields Tailscale has that Trellis does not implement, with the reason shown to users. */
  unsupported?: Readonly<Record<string, string>>;
}

export class LoadContext {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly src: SourceText) {}

  at(node: JsonNode): Position {
    return positionAt(this.src, node.offset);
  }

  report(code: DiagnosticCode, message: string, node: JsonNode): void {
    this.diagnostics.push({ code, message, ...this.at(node) });
  }

  isObject(node: JsonNode, what: string): boolean {
    if (node.type === 'object') return true;
    this.report('policy.wrong_type', `${what} must be an object, not ${describe(node)}`, node);
    return false;
  }

  isArray(node: JsonNode, what: string): boolean {
    if (node.type === 'array') return true;
    this.report('policy.wrong_type', `${what} must be a list, not ${describe(node)}`, node);
    return false;
  }

  string(node: JsonNode, what: string): Located<string> | undefined {
    if (node.type === 'string') return { value: String(node.value), at: this.at(node) };
    this.report('policy.wrong_type', `${what} must be a string, not ${describe(node)}`, node);
    return undefined;
  }

  /** A list of strings; entries of another type are reported and left out. */
  strings(node: JsonNode, what: string): Array<Located<string> & { node: JsonNode }> {
    if (!this.isArray(node, what)) return [];
    const out: Array<Located<string> & { node: JsonNode }> = [];
    for (const child of node.children ?? []) {
      const s = this.string(child, `each entry of ${what}`);
      if (s) out.push({ ...s, node: child });
    }
    return out;
  }

  /** The fields of an object by name, after reporting duplicates, unknown and missing ones. */
  fields(node: JsonNode, what: string, spec: FieldSpec): Map<string, { key: JsonNode; value: JsonNode }> {
    const out = new Map<string, { key: JsonNode; value: JsonNode }>();
    for (const [name, key, value] of properties(node)) {
      if (out.has(name)) {
        this.report('policy.duplicate_key', `${what} has "${name}" twice`, key);
        continue;
      }
      const reason = spec.unsupported?.[name];
      if (reason !== undefined) {
        this.report('policy.unsupported_field', `${what}: "${name}" is not supported by Trellis: ${reason}`, key);
        continue;
      }
      if (!spec.known.includes(name)) {
        this.report(
          'policy.unknown_field',
          `${what}: unknown field "${name}" (expected ${spec.known.map((k) => `"${k}"`).join(', ')})`,
          key,
        );
        continue;
      }
      out.set(name, { key, value });
    }
    for (const name of spec.required ?? []) {
      if (!out.has(name)) this.report('policy.missing_field', `${what} needs a "${name}" field`, node);
    }
    return out;
  }

  /** Entries of a map-like object, reporting duplicate keys. */
  entries(node: JsonNode, what: string): Array<{ name: string; key: JsonNode; value: JsonNode }> {
    const seen = new Set<string>();
    const out: Array<{ name: string; key: JsonNode; value: JsonNode }> = [];
    for (const [name, key, value] of properties(node)) {
      if (seen.has(name)) {
        this.report('policy.duplicate_key', `${what} has "${name}" twice`, key);
        continue;
      }
      seen.add(name);
      out.push({ name, key, value });
    }
    return out;
  }
}

function describe(node: JsonNode): string {
  switch (node.type) {
    case 'array':
      return 'a list';
    case 'object':
      return 'an object';
    case 'null':
      return 'null';
    default:
      return `a ${node.type}`;
  }
}
