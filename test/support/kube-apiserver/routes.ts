import { RESOURCES, type ResourceType } from './objects.ts';

/**
 * Which object a URL names, the way the API server reads it: `/api/v1/namespaces/NS/pods/NAME/exec`
 * is pods in NS, NAME, subresource exec; `/api/v1/pods` is pods in every namespace;
 * `/api/v1/namespaces/NS` is the namespace NS itself.
 */
export interface ResourceRoute {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

export function resourceRoute(path: string): ResourceRoute | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts.length < 3) return undefined;
  let rest = parts.slice(2);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub, ...more] = rest;
  const type = RESOURCES.find((r) => r.resource === resource);
  if (!type || more.length > 0) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  return {
    type,
    ...(namespace !== undefined && { namespace }),
    ...(name !== undefined && { name }),
    ...(sub !== undefined && { sub }),
  };
}

export function verbOf(method: string, route: ResourceRoute, watch: boolean): string {
  if (route.sub === 'exec' || route.sub === 'attach' || route.sub === 'portforward') return 'create';
  switch (method) {
    case 'GET':
      return watch ? 'watch' : route.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
