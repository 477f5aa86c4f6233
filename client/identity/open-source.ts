import { TokenFile } from './token-file.ts';
import type { TokenSource } from './token-source.ts';
import type { WorkloadSource } from './workload-spec.ts';

/** The TokenSource for a stored or requested workload source. */
export function openTokenSource(source: WorkloadSource, options: { pollMs?: number } = {}): TokenSource {
  switch (source.type) {
    case 'file':
      return new TokenFile(source.path, options.pollMs);
  }
}
