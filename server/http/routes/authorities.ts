import { listOf } from '../../../protocol/admin.ts';
import { AuthorityView, FinishRotationRequest, RotateAuthorityRequest } from '../../../protocol/pki.ts';
import type { CertificateAuthority } from '../../pki/authority.ts';
import { authorityNote, authorityView } from '../../pki/authority-view.ts';
import { route, type Route } from '../route.ts';

/**
 * Rotating the mesh CA (server/pki/README.md, "Rotation"): reading needs `read` (auditors),
 * each step `admin`; mount.ts audits every step, and the note names the CA it touched.
 */
export function authorityRoutes(authority: CertificateAuthority, now: () => number): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/authorities',
      summary: 'List the mesh CAs, newest first, with where each stands in a rotation',
      tag: 'pki',
      auth: { kind: 'admin', scope: 'read' },
      response: listOf(AuthorityView),
      handle: async () => {
        await authority.reload();
        return { items: authority.status().map((a) => authorityView(a, now())) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/authorities/rotate',
      summary: 'Start a CA rotation: a new CA, trusted at once, that signs once the grace period ends',
      tag: 'pki',
      auth: { kind: 'admin', scope: 'admin' },
      body: RotateAuthorityRequest,
      response: AuthorityView,
      status: 201,
      handle: async ({ body, auditNote }) => {
        const view = authorityView(await authority.rotate(body.graceSeconds * 1000), now());
        auditNote(`${authorityNote(view)} (grace ${body.graceSeconds} s)`);
        return view;
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/authorities/finish',
      summary: 'Finish a CA rotation: the pending CA signs from now on (before its grace period ends only with force)',
      tag: 'pki',
      auth: { kind: 'admin', scope: 'admin' },
      body: FinishRotationRequest,
      response: AuthorityView,
      handle: async ({ body, auditNote }) => {
        const view = authorityView(await authority.finish(body.force), now());
        auditNote(`${authorityNote(view)}${body.force ? ' (forced before the grace period ended)' : ''}`);
        return view;
      },
    }),
  ];
}
