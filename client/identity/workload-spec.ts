import { z } from 'zod';

/**
 * How a workload agent proves who it is, as the CLI asks for it and the state directory keeps
 * it (so a restarted agent goes on renewing): which credential type to present, and where its
 * token comes from. The token itself is never stored; it is read from the source each time.
 */
const TokenFileSource = z.strictObject({
  type: z.literal('file'),
  /** Absolute: the agent, not the CLI, reads it. */
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => p.startsWith('/'), 'must be an absolute path'),
});

const WorkloadApiSourceSpec = z.strictObject({
  type: z.literal('workload-api'),
  /** `unix:///path/to/agent.sock`. */
  endpoint: z
    .string()
    .max(4096)
    .regex(/^unix:\/\/\/./, 'must be unix:///absolute/path'),
  audience: z.string().min(1).max(256),
  spiffeId: z.string().startsWith('spiffe://').max(2048).optional(),
});

export const WorkloadSource = z.discriminatedUnion('type', [TokenFileSource, WorkloadApiSourceSpec]);
export type WorkloadSource = z.infer<typeof WorkloadSource>;

export const WorkloadSpec = z
  .strictObject({
    credential: z.enum(['spiffe-jwt', 'kubernetes']),
    /** Kubernetes only: the server's name for the cluster (else the token's `iss` picks it). */
    cluster: z.string().min(1).max(128).optional(),
    source: WorkloadSource,
  })
  .refine((w) => w.source.type === 'file' || w.credential === 'spiffe-jwt', {
    message: 'the Workload API gives JWT-SVIDs: credential spiffe-jwt',
    path: ['credential'],
  });
export type WorkloadSpec = z.infer<typeof WorkloadSpec>;
