/** HuJSON syntax alone, for tools (like `fmt`) that must not run on a file they cannot read. */
import type { Diagnostic } from './diagnostics.ts';
import { parseHuJSON, sourceText } from './hujson.ts';

export function checkSyntax(text: string, file = 'policy.hujson'): Diagnostic[] {
  return parseHuJSON(sourceText(text, file)).diagnostics;
}
