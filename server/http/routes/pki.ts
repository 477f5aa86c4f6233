import { CertificateRequest, CertificateResponse, TrustBundle } from '../../../protocol/pki.ts';
import type { CertificateService } from '../../pki/certificate-service.ts';
import { route, type Caller, type Route } from '../route.ts';

/** The mesh CA for nodes (server/pki/README.md), each call proved with the machine key. */
export function pkiRoutes(certificates: CertificateService): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/machine/authorities',
      summary: 'The CA certificates that sign mesh certificates (the trust bundle)',
      tag: 'machine',
      auth: { kind: 'machine' },
      response: TrustBundle,
      handle: async () => certificates.bundle(),
    }),
    route({
      method: 'post',
      path: '/api/v1/machine/certificate',
      summary: "Sign a short-lived server certificate for this node's own mesh name or a service it serves",
      tag: 'machine',
      auth: { kind: 'machine' },
      body: CertificateRequest,
      response: CertificateResponse,
      handle: async ({ body, caller, sourceIp }) => certificates.issue(nodeOf(caller), body, sourceIp),
    }),
  ];
}

function nodeOf(caller: Caller) {
  if (caller.kind !== 'machine' || !caller.node) throw new TypeError('machine route without a registered node');
  return caller.node;
}
