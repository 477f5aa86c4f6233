import type { AnswerCode } from '../../error-codes.ts';
import { TrellisError } from '../../errors.ts';

/** A credential token was refused: 401, pointing at the token in the register body. */
export const refused = (code: AnswerCode, message: string) =>
  new TrellisError('unauthenticated', code, message, { where: 'body.credential.token' });

/** Caller-supplied text quoted in a message: short and printable, so it cannot flood a log. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const clipped = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return JSON.stringify(clipped);
}
