/**
 * formatPolicy: one canonical layout for policy files (two-space indents, one newline at the
 * end), keeping comments, so reviews show changes of meaning rather than of spacing.
 */
import jsonc from 'jsonc-parser';

export function formatPolicy(text: string): string {
  const edits = jsonc.format(text, undefined, {
    tabSize: 2,
    insertSpaces: true,
    eol: '\n',
    insertFinalNewline: true,
    keepLines: false,
  });
  const out = jsonc.applyEdits(text, edits);
  return out.endsWith('\n') ? out : `${out}\n`;
}
