import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { KubeconfigError } from './errors.ts';

/**
 * A kubeconfig file as kubectl reads it, kept whole: `trellis kubeconfig` adds or replaces its
 * own named entries and leaves everything else (other clusters, users, preferences, fields this
 * schema does not name) as it was.
 */
const Named = (field: string) => z.looseObject({ name: z.string(), [field]: z.record(z.string(), z.unknown()) });
const KubeconfigDoc = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  clusters: z.array(Named('cluster')).nullish(),
  users: z.array(Named('user')).nullish(),
  contexts: z.array(Named('context')).nullish(),
  'current-context': z.string().optional(),
});
export type KubeconfigDoc = z.infer<typeof KubeconfigDoc>;

export type Entry<K extends 'cluster' | 'user' | 'context'> = { name: string } & Record<K, Record<string, unknown>>;

/** The file kubectl would use: `--kubeconfig`, else the first of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given) return given;
  const first = env.KUBECONFIG?.split(':').find((p) => p.length > 0);
  return first ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

export function readKubeconfig(path: string): KubeconfigDoc {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { apiVersion: 'v1', kind: 'Config' };
    throw new KubeconfigError('kubeconfig.unreadable', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new KubeconfigError('kubeconfig.unreadable', `${path} is not YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = KubeconfigDoc.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KubeconfigError(
      'kubeconfig.unreadable',
      `${path}: ${issue.path.join('.') || 'the file'}: ${issue.message}; it is not a kubeconfig this command will change`,
    );
  }
  return parsed.data;
}

/** Adds or replaces (by name) each entry, in place. */
export function upsert(
  doc: KubeconfigDoc,
  list: 'clusters' | 'users' | 'contexts',
  entry: { name: string } & Record<string, unknown>,
): void {
  const entries = (doc[list] ?? []) as Array<{ name: string }>;
  const at = entries.findIndex((e) => e.name === entry.name);
  if (at >= 0) entries[at] = entry;
  else entries.push(entry);
  doc[list] = entries as never;
}

export function find<K extends 'cluster' | 'user' | 'context'>(
  doc: KubeconfigDoc,
  list: 'clusters' | 'users' | 'contexts',
  name: string,
): Entry<K> | undefined {
  return (doc[list] as Array<Entry<K>> | null | undefined)?.find((e) => e.name === name);
}

/** Written whole to a temporary name and renamed, mode 0600 (it may hold others' credentials). */
export function writeKubeconfig(path: string, doc: KubeconfigDoc): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.trellis-${process.pid}`;
  writeFileSync(temp, stringify({ apiVersion: 'v1', kind: 'Config', ...doc }), { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}
