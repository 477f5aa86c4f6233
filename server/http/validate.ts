import type { z } from 'zod';
import { isAnswerCode } from '../error-codes.ts';
import { invalid } from '../errors.ts';

/** Parses request bytes as JSON and checks them against a schema; errors name the field. */
export function parseBody<T>(schema: z.ZodType<T>, raw: Uint8Array): T {
  let value: unknown;
  if (raw.length === 0) {
    value = undefined;
  } else {
    try {
      value = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch (err) {
      throw invalid('request.bad_json', `the body is not valid JSON: ${(err as Error).message}`, 'body');
    }
  }
  return check(schema, value, 'body');
}

/** Checks a value from outside (body, query, params) against its schema. */
export function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [where, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    throw invalid('request.unknown_field', `${path}: unknown field ${keys}`, path);
  }
  if (value === undefined && where === 'body') {
    throw invalid('request.missing_body', 'a JSON body is required', 'body');
  }
  // A field whose own check names its refusal (protocol/ip/schema.ts, protocol/keys.ts) answers with that code.
  const named = issue.code === 'custom' ? issue.params?.code : undefined;
  const code = typeof named === 'string' && isAnswerCode(named) ? named : undefined;
  throw invalid(code ?? 'request.invalid_field', `${path}: ${issue.message}`, path);
}
