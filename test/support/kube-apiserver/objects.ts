import { randomUUID } from 'node:crypto';
import { ApiError } from './status.ts';

/**
 * The stand-in's objects: namespaces, pods and configmaps in memory, one resourceVersion
 * counter for all (as etcd's revision), and a watch history so that a watch from a list's
 * resourceVersion misses nothing that happened in between.
 */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

export interface ResourceType {
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
}

export const RESOURCES: readonly ResourceType[] = [
  { resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
  { resource: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'] },
  { resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
];

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject; rv: number };

const HISTORY = 1000;

export class ObjectStore {
  private rv = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<(e: WatchEvent) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  list(type: ResourceType, namespace?: string): KubeObject[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === type.kind && (namespace === undefined || o.metadata.namespace === namespace))
      .sort((a, b) => key(a).localeCompare(key(b)));
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.objects.get(keyOf(type.kind, namespace, name));
    if (!o) throw new ApiError(404, `${type.resource} "${name}" not found`, 'NotFound', { name, kind: type.resource });
    return o;
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(type.kind, namespace, name));
  }

  create(type: ResourceType, object: KubeObject): KubeObject {
    const { name, namespace } = object.metadata;
    if (this.objects.has(keyOf(type.kind, namespace, name)))
      throw new ApiError(409, `${type.resource} "${name}" already exists`, 'AlreadyExists', {
        name,
        kind: type.resource,
      });
    if (namespace !== undefined && !this.objects.has(keyOf('Namespace', undefined, namespace)))
      throw new ApiError(404, `namespaces "${namespace}" not found`, 'NotFound', {
        name: namespace,
        kind: 'namespaces',
      });
    const stored: KubeObject = {
      ...object,
      metadata: { ...object.metadata, uid: randomUUID(), creationTimestamp: new Date(this.now()).toISOString() },
    };
    return this.commit('ADDED', stored);
  }

  replace(object: KubeObject): KubeObject {
    return this.commit('MODIFIED', object);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.get(type, namespace, name);
    this.objects.delete(key(o));
    this.rv += 1;
    const gone = { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv) } };
    this.publish({ type: 'DELETED', object: gone, rv: this.rv });
    return gone;
  }

  /** Events after `since`, then every later one, until the returned function is called. */
  watch(since: number, onEvent: (e: WatchEvent) => void): () => void {
    const oldest = this.history[0]?.rv ?? this.rv + 1;
    if (since + 1 < oldest && since < this.rv)
      throw new ApiError(410, `too old resource version: ${since} (${oldest - 1})`, 'Expired');
    for (const e of this.history) if (e.rv > since) onEvent(e);
    this.watchers.add(onEvent);
    return () => this.watchers.delete(onEvent);
  }

  private commit(type: 'ADDED' | 'MODIFIED', object: KubeObject): KubeObject {
    this.rv += 1;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    this.objects.set(key(stored), stored);
    this.publish({ type, object: stored, rv: this.rv });
    return stored;
  }

  private publish(e: WatchEvent): void {
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const w of this.watchers) w(e);
  }
}

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;
const key = (o: KubeObject) => keyOf(o.kind, o.metadata.namespace, o.metadata.name);
