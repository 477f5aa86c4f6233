import { describe, expect, it } from 'vitest';
import { requestInfo } from '../../../client/kube-proxy/request-info.ts';

/** The audit trail names requests the way Kubernetes does. */
describe('requestInfo', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', { verb: 'list', resource: 'pods', namespace: 'default' }],
    [
      'GET',
      '/api/v1/namespaces/default/pods?watch=true&resourceVersion=5',
      { verb: 'watch', resource: 'pods', namespace: 'default' },
    ],
    ['GET', '/api/v1/watch/namespaces/default/pods', { verb: 'watch', resource: 'pods', namespace: 'default' }],
    [
      'GET',
      '/api/v1/namespaces/default/pods/web-1',
      { verb: 'get', resource: 'pods', namespace: 'default', name: 'web-1' },
    ],
    [
      'GET',
      '/api/v1/namespaces/default/pods/web-1/exec?command=ls',
      { verb: 'create', resource: 'pods/exec', namespace: 'default', name: 'web-1' },
    ],
    [
      'POST',
      '/api/v1/namespaces/default/pods/web-1/portforward',
      { verb: 'create', resource: 'pods/portforward', name: 'web-1' },
    ],
    [
      'GET',
      '/api/v1/namespaces/default/pods/web-1/log?follow=true',
      { verb: 'get', resource: 'pods/log', name: 'web-1' },
    ],
    [
      'GET',
      '/api/v1/namespaces/kube-system',
      { verb: 'get', resource: 'namespaces', name: 'kube-system', namespace: 'kube-system' },
    ],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods' }],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/api?fieldManager=kubectl',
      { verb: 'patch', resource: 'deployments', apiGroup: 'apps', namespace: 'prod', name: 'api' },
    ],
    ['DELETE', '/api/v1/namespaces/default/configmaps', { verb: 'deletecollection', resource: 'configmaps' }],
    [
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { verb: 'create', resource: 'selfsubjectreviews', apiGroup: 'authentication.k8s.io' },
    ],
    ['GET', '/version', { verb: 'get', resource: '/version' }],
    ['GET', '/apis', { verb: 'get', resource: '/apis' }],
    ['GET', '/api/v1/namespaces/a%2Fb/pods/%E0', { verb: 'get', resource: 'pods', namespace: 'a/b', name: '%E0' }],
  ])('%s %s', (method, url, expected) => {
    expect(requestInfo(method, url)).toMatchObject(expected);
  });
});
