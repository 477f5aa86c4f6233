import { z } from 'zod';

/**
 * Where the server keeps its state (server/store/README.md). SQLite in the data directory is the
 * default and needs nothing; several replicas need PostgreSQL (docs/postgresql.md).
 */
export const StoreConfig = z
  .strictObject({
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /**
     * `postgresql://user:password@host:port/database`. Without it, the libpq environment
     * variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) say where.
     */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S*$/, 'must be a postgresql:// URL')
      .refine((u) => !/[?&]sslmode=/.test(u), 'must not set sslmode: use store.tls.mode')
      .optional(),
    tls: z
      .strictObject({
        /**
         * disable: plain TCP (a Unix socket, or a network you trust); require: encrypted, the
         * server not authenticated; verify-full: encrypted, and the server's certificate checked
         * against `ca` and the host name.
         */
        mode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
        /** PEM file of the CA that signed the server's certificate (verify-full; default: the system's CAs). */
        ca: z.string().min(1).optional(),
      })
      .prefault({}),
    /** Connections each server keeps to the database at most (plus one that listens for changes). */
    poolSize: z.number().int().min(1).max(1_000).default(10),
    /** How long a request waits to connect before it answers 503 store.unavailable. */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
  })
  .prefault({})
  .superRefine((store, ctx) => {
    if (store.driver === 'postgres') return;
    const set = [
      store.url !== undefined && 'url',
      store.tls.mode !== 'disable' && 'tls',
      store.tls.ca !== undefined && 'tls',
    ].filter((k): k is string => typeof k === 'string');
    for (const key of new Set(set)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'is a PostgreSQL setting: set store.driver to postgres' });
    }
  })
  .refine((store) => store.tls.ca === undefined || store.tls.mode === 'verify-full', {
    path: ['tls', 'ca'],
    message: 'is only read with store.tls.mode verify-full',
  });
export type StoreConfig = z.infer<typeof StoreConfig>;
