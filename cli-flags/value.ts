import { usageError } from './errors.ts';
import type { FlagSpec, NumberFlag, StringFlag } from './spec.ts';

/** One flag's text as the value its declaration says, or a usage error naming the flag and the value. */
export function flagValue(
  spelled: string,
  spec: StringFlag | NumberFlag,
  text: string,
  commandName: string,
): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(text))
      throw usageError('cli.bad_value', `${spelled}: "${text}" must be one of ${spec.choices.join(', ')}`, commandName);
    return text;
  }
  const pattern = spec.integer ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
  const n = Number(text);
  const inBounds = (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
  if (!pattern.test(text) || !Number.isSafeInteger(Math.trunc(n)) || !inBounds)
    throw usageError('cli.bad_value', `${spelled}: "${text}" must be ${describeNumber(spec)}`, commandName);
  return n;
}

function describeNumber(spec: NumberFlag): string {
  const kind = spec.integer ? 'a whole number' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${kind} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${kind} of at least ${spec.min}`;
  if (spec.max !== undefined) return `${kind} of at most ${spec.max}`;
  return kind;
}

/** The placeholder `--help` shows after a flag: `URL`, `N`, `on|off`; none for a boolean. */
export function placeholder(spec: FlagSpec): string {
  if (spec.type === 'boolean') return '';
  if (spec.value) return spec.value;
  if (spec.type === 'string' && spec.choices) return spec.choices.join('|');
  return spec.type === 'number' ? 'N' : 'VALUE';
}
