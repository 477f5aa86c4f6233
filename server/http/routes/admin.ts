import { z } from 'zod';
import {
  ApiKeyView,
  ApproveRoutesRequest,
  CreateUserRequest,
  IssuedApiKey,
  IssuedPreAuthKey,
  NodeView,
  PreAuthKeyView,
  RenameNodeRequest,
  SetTagsRequest,
  UserView,
  listOf,
} from '../../../protocol/admin.ts';
import { CreateApiKey, CreatePreAuthKey, type KeyService } from '../../admin/keys.ts';
import type { UserService } from '../../admin/user-service.ts';
import { apiKeyView, nodeView, preAuthKeyView, userView } from '../../admin/views.ts';
import type { NetmapEngine } from '../../netmap/engine.ts';
import type { NodeService } from '../../nodes/node-service.ts';
import type { Store } from '../../store/store.ts';
import type { NodeRecord } from '../../store/records.ts';
import { route, type Route } from '../route.ts';
import { sees, visible } from '../viewer.ts';

interface AdminDeps {
  store: Store;
  nodes: NodeService;
  users: UserService;
  keys: KeyService;
  engine: NetmapEngine;
}

/** The administration API: thin handlers over the services. */
export function adminRoutes(d: AdminDeps): Route[] {
  const view = (n: NodeRecord) =>
    nodeView(n, d.users.emailOf, { online: d.engine.isOnline(n.id), paths: d.engine.pathsOf(n.id) });
  const nodeRoute = <B>(
    path: string,
    summary: string,
    body: z.ZodType<B>,
    act: (id: string, body: B) => Promise<NodeRecord>,
    scope: 'nodes' | 'routes' = 'nodes',
  ) =>
    route({
      method: 'post',
      path: `/api/v1/nodes/:id/${path}`,
      summary,
      tag: 'nodes',
      auth: { kind: 'admin', scope },
      body,
      response: NodeView,
      handle: async ({ params, body }) => view(await act(params.id!, body)),
    });
  return [
    // users
    route({
      method: 'get',
      path: '/api/v1/users',
      summary: 'List users (with or without machines), each with their machines',
      tag: 'users',
      auth: { kind: 'admin', scope: 'read' },
      response: listOf(UserView),
      handle: async () => {
        const machines = new Map<string, Array<{ id: string; name: string; online: boolean }>>();
        for (const n of await d.nodes.list()) {
          if (n.userId === undefined || n.tags.length > 0) continue;
          const list = machines.get(n.userId) ?? [];
          list.push({ id: n.id, name: n.name, online: d.engine.isOnline(n.id) });
          machines.set(n.userId, list);
        }
        return {
          items: (await d.users.list()).map((u) => ({ ...userView(u), machines: machines.get(u.id) ?? [] })),
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/users',
      summary: 'Create a local user',
      tag: 'users',
      auth: { kind: 'admin', scope: 'users' },
      body: CreateUserRequest,
      response: UserView,
      status: 201,
      handle: async ({ body }) => userView(await d.users.create(body)),
    }),
    route({
      method: 'delete',
      path: '/api/v1/users/:id',
      summary: 'Delete a user with their nodes and keys',
      tag: 'users',
      auth: { kind: 'admin', scope: 'users' },
      status: 204,
      handle: async ({ params }) => d.users.remove(params.id!),
    }),
    // nodes
    route({
      method: 'get',
      path: '/api/v1/nodes',
      summary: 'List nodes (a member: their own)',
      tag: 'nodes',
      auth: { kind: 'admin', scope: 'read', members: 'own' },
      response: listOf(NodeView),
      handle: async ({ viewer }) => ({ items: (await d.nodes.list()).filter((n) => sees(viewer, n)).map(view) }),
    }),
    route({
      method: 'get',
      path: '/api/v1/nodes/:id',
      summary: 'Get a node (a member: only their own)',
      tag: 'nodes',
      auth: { kind: 'admin', scope: 'read', members: 'own' },
      response: NodeView,
      handle: async ({ params, viewer }) => view(visible(viewer, await d.nodes.get(params.id!))),
    }),
    route({
      method: 'delete',
      path: '/api/v1/nodes/:id',
      summary: 'Delete a node: it leaves every map and its stream closes',
      tag: 'nodes',
      auth: { kind: 'admin', scope: 'nodes' },
      status: 204,
      handle: async ({ params }) => d.nodes.remove(params.id!),
    }),
    nodeRoute('expire', 'Expire the node key now', z.strictObject({}).optional(), (id) => d.nodes.expire(id)),
    nodeRoute('rename', 'Rename a node', RenameNodeRequest, (id, b) => d.nodes.rename(id, b.name)),
    nodeRoute('tags', "Set a node's tags", SetTagsRequest, (id, b) => d.nodes.setTags(id, b.tags)),
    nodeRoute(
      'routes',
      "Approve a node's advertised routes",
      ApproveRoutesRequest,
      (id, b) => d.nodes.approveRoutes(id, b.routes),
      'routes',
    ),
    // pre-auth keys
    route({
      method: 'get',
      path: '/api/v1/preauth-keys',
      summary: 'List pre-auth keys',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'read' },
      response: listOf(PreAuthKeyView),
      handle: async () => ({
        items: (await d.store.preAuthKeys.list()).map((k) => preAuthKeyView(k, d.users.emailOf)),
      }),
    }),
    route({
      method: 'post',
      path: '/api/v1/preauth-keys',
      summary: 'Create a pre-auth key (the secret is shown once)',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'keys' },
      body: CreatePreAuthKey,
      response: IssuedPreAuthKey,
      status: 201,
      handle: async ({ body }) => {
        const { key, secret } = await d.keys.createPreAuthKey(body);
        return { key: preAuthKeyView(key, d.users.emailOf), secret };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/preauth-keys/:id',
      summary: 'Revoke a pre-auth key',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'keys' },
      status: 204,
      handle: async ({ params }) => d.keys.revokePreAuthKey(params.id!),
    }),
    // API keys
    route({
      method: 'get',
      path: '/api/v1/api-keys',
      summary: 'List API keys',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'admin' },
      response: listOf(ApiKeyView),
      handle: async () => ({ items: (await d.store.apiKeys.list()).map(apiKeyView) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/api-keys',
      summary: 'Create an API key (the secret is shown once)',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'admin' },
      body: CreateApiKey,
      response: IssuedApiKey,
      status: 201,
      handle: async ({ body }) => {
        const { key, secret } = await d.keys.createApiKey(body);
        return { key: apiKeyView(key), secret };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/api-keys/:id',
      summary: 'Revoke an API key',
      tag: 'keys',
      auth: { kind: 'admin', scope: 'admin' },
      status: 204,
      handle: async ({ params }) => d.keys.revokeApiKey(params.id!),
    }),
  ];
}
