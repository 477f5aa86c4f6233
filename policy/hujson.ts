/**
 * HuJSON (JSON with comments and trailing commas) read into a tree that remembers where every
 * value starts, so that later checks can point at `file:line:column`.
 */
import jsonc from 'jsonc-parser';
import type { Diagnostic, Position } from './diagnostics.ts';

export type JsonNode = jsonc.Node;

export interface SourceText {
  file: string;
  text: string;
  /** Offset of the first character of each line. */
  lineStarts: number[];
}

export function sourceText(text: string, file: string): SourceText {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return { file, text, lineStarts };
}

export function positionAt(src: SourceText, offset: number): Position {
  let lo = 0;
  let hi = src.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((src.lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { file: src.file, line: lo + 1, column: offset - (src.lineStarts[lo] ?? 0) + 1 };
}

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a quoted field name',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the policy',
  InvalidCommentToken: 'malformed comment',
  UnexpectedEndOfComment: 'comment is not closed',
  UnexpectedEndOfString: 'string is not closed',
  UnexpectedEndOfNumber: 'number is cut short',
  InvalidUnicode: 'malformed unicode escape',
  InvalidEscapeCharacter: 'malformed escape',
  InvalidCharacter: 'invalid character in string',
};

export function parseHuJSON(src: SourceText): { root?: JsonNode; diagnostics: Diagnostic[] } {
  const errors: jsonc.ParseError[] = [];
  const root = jsonc.parseTree(src.text, errors, { allowTrailingComma: true, disallowComments: false });
  const diagnostics = errors.map((e) => ({
    code: 'policy.syntax' as const,
    message: `syntax error: ${SYNTAX_MESSAGES[jsonc.printParseErrorCode(e.error)] ?? 'malformed HuJSON'}`,
    ...positionAt(src, e.offset),
  }));
  if (diagnostics.length > 0) return { diagnostics };
  return { root, diagnostics };
}

/** The properties of an object node as [name, key node, value node]. */
export function properties(node: JsonNode): Array<[string, JsonNode, JsonNode]> {
  const out: Array<[string, JsonNode, JsonNode]> = [];
  for (const prop of node.children ?? []) {
    const [key, value] = prop.children ?? [];
    if (key && value) out.push([String(key.value), key, value]);
  }
  return out;
}
