import { HelpRequested, UsageError } from './errors.ts';

/** What a CLI's entry prints for a usage error or a help request, and its exit status; undefined for anything else. */
export function usageOutcome(
  err: unknown,
): { stream: 'stdout' | 'stderr'; text: string; exitCode: number } | undefined {
  if (err instanceof HelpRequested) return { stream: 'stdout', text: err.usage, exitCode: err.exitCode };
  if (err instanceof UsageError) return { stream: 'stderr', text: err.message, exitCode: err.exitCode };
  return undefined;
}
