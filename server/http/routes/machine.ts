import { NodeResponse, RegisterRequest, RotateKeyRequest, UpdateSelfRequest } from '../../../protocol/join.ts';
import type { NetmapEngine } from '../../netmap/engine.ts';
import { LiveNode } from '../../netmap/live-node.ts';
import type { NodeService } from '../../nodes/node-service.ts';
import type { ServerMetrics } from '../../observability/metrics.ts';
import type { NodeRecord } from '../../store/records.ts';
import { route, type Caller, type Route } from '../route.ts';

/** Agent-facing control endpoints, each proved with the machine key. */
export function machineRoutes(nodes: NodeService, engine: NetmapEngine, metrics: ServerMetrics): Route[] {
  // An expired node is out of the engine but may still ask for itself.
  const selfOf = (record: NodeRecord) => engine.node(record.id)?.self() ?? new LiveNode(record, undefined).self();
  return [
    route({
      method: 'post',
      path: '/api/v1/machine/register',
      summary: 'Register this machine (or sign it in again) with a credential',
      tag: 'machine',
      auth: { kind: 'machine-unregistered' },
      body: RegisterRequest,
      response: NodeResponse,
      handle: async ({ body, caller, sourceIp }) => {
        const done = metrics.joinSeconds.startTimer();
        const { machineKey, node: existing } = machineOf(caller);
        const node = selfOf(await nodes.register(body, machineKey, existing, sourceIp));
        done();
        return { node };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/machine/self',
      summary: "This node's own record",
      tag: 'machine',
      auth: { kind: 'machine' },
      response: NodeResponse,
      handle: async ({ caller }) => ({ node: selfOf(machineOf(caller).node!) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/machine/rotate-key',
      summary: 'Replace the WireGuard key; identity and addresses stay',
      tag: 'machine',
      auth: { kind: 'machine' },
      body: RotateKeyRequest,
      response: NodeResponse,
      handle: async ({ body, caller }) => ({
        node: selfOf(await nodes.rotateKey(machineOf(caller).node!, body.wireguardKey)),
      }),
    }),
    route({
      method: 'post',
      path: '/api/v1/machine/update',
      summary: 'Change hostname, advertised routes or endpoints',
      tag: 'machine',
      auth: { kind: 'machine' },
      body: UpdateSelfRequest,
      response: NodeResponse,
      handle: async ({ body, caller }) => ({ node: selfOf(await nodes.updateSelf(machineOf(caller).node!, body)) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/machine/logout',
      summary: 'Leave the mesh: delete this node',
      tag: 'machine',
      auth: { kind: 'machine' },
      status: 204,
      handle: async ({ caller }) => {
        await nodes.remove(machineOf(caller).node!.id);
      },
    }),
  ];
}

function machineOf(caller: Caller): Extract<Caller, { kind: 'machine' }> {
  if (caller.kind !== 'machine') throw new TypeError('machine route without a machine caller');
  return caller;
}
