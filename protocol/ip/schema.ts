import { z } from 'zod';
import { parsePrefix, type PrefixSyntax } from './prefix.ts';

/**
 * Wire fields that hold prefixes, checked by the address parsers. A refusal is a
 * custom issue whose `params.code` names it (the parser's `ip.*` code unless the field names
 * its own), so the edge that reads the message can answer with that code. The parsers bound
 * the length themselves, so an overlong text is one refusal with the same code.
 */
export function prefixText(syntax: PrefixSyntax = {}, code?: string) {
  return z.string().superRefine((text, ctx) => {
    const r = parsePrefix(text, syntax);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message, params: { code: code ?? r.error.code } });
  });
}
