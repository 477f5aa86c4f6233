import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export const KUSTOMIZE_ROOT = 'deploy/kubernetes';

/** Every overlay directory, by name. */
export function overlays(): string[] {
  return readdirSync(join(KUSTOMIZE_ROOT, 'overlays'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** An overlay as `kubectl kustomize` renders it: the objects `kubectl apply -k` would send. */
export function render(overlay: string): KubeObject[] {
  const yaml = execFileSync('kubectl', ['kustomize', join(KUSTOMIZE_ROOT, 'overlays', overlay)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(yaml).map((d) => {
    if (d.errors.length > 0) throw new Error(`${overlay}: ${d.errors[0]?.message}`);
    return d.toJS() as KubeObject;
  });
}
