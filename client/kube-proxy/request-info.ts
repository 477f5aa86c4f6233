/**
 * What a Kubernetes API request does, read from its method and URL the way the API server's own
 * request-info reading does: `/api/v1/namespaces/NS/pods/NAME/exec` is verb create (an exec),
 * resource `pods/exec`, namespace NS, name NAME. Only for the audit trail: the API server makes
 * every decision itself.
 */
export interface RequestInfo {
  verb: string;
  /** `pods`, `pods/exec`; for a non-resource URL (`/version`, `/apis`) the path. */
  resource: string;
  apiGroup?: string;
  namespace?: string;
  name?: string;
}

const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);
const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch' };

export function requestInfo(method: string, url: string): RequestInfo {
  const [pathPart = '/', query = ''] = url.split('?', 2);
  const parts = pathPart.split('/').filter(Boolean).map(safeDecode);
  const params = new URLSearchParams(query);
  let rest: string[];
  let apiGroup: string | undefined;
  if (parts[0] === 'api' && parts.length >= 3) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1];
    rest = parts.slice(3);
  } else return { verb: method.toLowerCase(), resource: pathPart.slice(0, 512) || '/' };

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    namespace = rest[1];
    // `/namespaces/NS` names the namespace itself; `/namespaces/NS/pods...` a resource inside it.
    rest = rest.length === 2 ? ['namespaces', rest[1]!] : rest.slice(2);
  }
  const [resource = '', name, subresource] = rest;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const watch = watchPath || /^(1|true)$/i.test(params.get('watch') ?? '');
  let verb: string;
  if (subresource && CONNECT_SUBRESOURCES.has(subresource)) verb = 'create';
  else if (method === 'GET' || method === 'HEAD') verb = watch ? 'watch' : name ? 'get' : 'list';
  else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = VERBS[method] ?? method.toLowerCase();
  return {
    verb,
    resource: (full || pathPart).slice(0, 512),
    ...(apiGroup && { apiGroup }),
    ...(namespace && { namespace }),
    ...(name && { name }),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
