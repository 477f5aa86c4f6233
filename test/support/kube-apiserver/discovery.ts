import { RESOURCES } from './objects.ts';

/**
 * Discovery as the API server serves it in its legacy (unaggregated) form, which kubectl falls
 * back to when the answer is not an APIGroupDiscoveryList: the core group v1 with namespaces,
 * pods (and their exec and log subresources) and configmaps; authentication.k8s.io/v1 with
 * SelfSubjectReview (`kubectl auth whoami`).
 */
export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-trellis-stand-in',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-12-01T00:00:00Z',
  goVersion: 'none (a stand-in written in TypeScript)',
  compiler: 'none',
  platform: 'linux/amd64',
};

export const API_VERSIONS = { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };

const CRUD = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const CORE_V1 = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    ...RESOURCES.map((r) => ({
      name: r.resource,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: CRUD,
      shortNames: r.shortNames,
    })),
    { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    {
      name: 'pods/portforward',
      singularName: '',
      namespaced: true,
      kind: 'PodPortForwardOptions',
      verbs: ['create', 'get'],
    },
  ],
};

const AUTHN_GROUP = {
  name: 'authentication.k8s.io',
  versions: [{ groupVersion: 'authentication.k8s.io/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'authentication.k8s.io/v1', version: 'v1' },
};

export const API_GROUPS = { kind: 'APIGroupList', apiVersion: 'v1', groups: [AUTHN_GROUP] };

export const AUTHN_V1 = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'authentication.k8s.io/v1',
  resources: [
    {
      name: 'selfsubjectreviews',
      singularName: 'selfsubjectreview',
      namespaced: false,
      kind: 'SelfSubjectReview',
      verbs: ['create'],
    },
  ],
};
