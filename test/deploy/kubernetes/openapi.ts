import type { KubeObject } from './render.ts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/**
 * Checks an object against the Kubernetes OpenAPI schema of its kind, with the models the
 * kubernetes-models package generates from it; throws naming the fields that are wrong, or a
 * kind the package does not know (a typo in apiVersion or kind is an error, not a pass).
 */
export async function validateAgainstSchema(obj: KubeObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [undefined, obj.apiVersion];
  if (!version || !/^[a-z0-9.]*$/.test(group ?? '') || !/^v\d\w*$/.test(version) || !/^[A-Z]\w+$/.test(obj.kind)) {
    throw new Error(`${obj.kind}/${obj.metadata?.name}: "${obj.apiVersion}" "${obj.kind}" is no Kubernetes kind`);
  }
  const path = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(path)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata?.name}: no schema for ${obj.apiVersion} ${obj.kind}`, { cause: err });
  }
  const Kind = module[obj.kind] as ModelClass | undefined;
  if (!Kind) throw new Error(`${obj.kind}/${obj.metadata?.name}: no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Kind(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
}
