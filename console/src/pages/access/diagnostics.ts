import { ApiError } from '../../api/http.ts';

/** One problem the server found in a policy, at its line and column. */
export interface Diagnostic {
  code: string;
  message: string;
  line?: number;
  column?: number;
}

/** A refused policy's problems, from the error's details (`where`: `file:line:col`). */
export function diagnosticsOf(err: unknown): Diagnostic[] {
  if (!(err instanceof ApiError) || err.code !== 'policy.invalid') return [];
  const details = err.body.details ?? [{ code: err.code, message: err.body.message, where: err.body.where }];
  return details.map((d) => {
    const at = /:(\d+):(\d+)$/.exec(d.where ?? '');
    const message = d.message.replace(/^.*?:\d+:\d+: /, '');
    return at ? { code: d.code, message, line: Number(at[1]), column: Number(at[2]) } : { code: d.code, message };
  });
}

/** The offset in `text` of a 1-based line and column. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return Math.min(text.length, offset + column - 1);
}
