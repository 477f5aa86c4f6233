import { TokenFile } from './token-file.ts';
import type { TokenSource } from './token-source.ts';
import { WorkloadApiSource } from './workload-api.ts';
import type { WorkloadSource } from './workload-spec.ts';

/** The TokenSource for a stored or requested workload source. */
export function openTokenSource(source: WorkloadSource, options: { pollMs?: number } = {}): TokenSource {
  switch (source.type) {
    case 'file':
      return new TokenFile(source.path, options.pollMs);
    case 'workload-api':
      return new WorkloadApiSource({
        endpoint: source.endpoint,
        audience: source.audience,
        ...(source.spiffeId && { spiffeId: source.spiffeId }),
      });
  }
}
