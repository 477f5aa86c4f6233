import { allCodes, codeCatalog, type CodeOf } from '../protocol/coded-error.ts';
import { IP_CODES } from '../protocol/ip/ip-error.ts';
import { KEY_CODES } from '../protocol/keys.ts';

/**
 * Every code the server's errors carry, by area: the codes of HTTP and map-stream answers
 * (`ErrorBody.code`, a goodbye's `code`) and of the server's own start-up and command-line
 * errors. docs/errors.md says what each means and what to do; a test keeps the two in step.
 */
export const SERVER_CODES = codeCatalog({
  request: [
    'request.bad_json',
    'request.invalid',
    'request.invalid_field',
    'request.missing_body',
    'request.unknown_field',
    'request.too_large',
    'request.no_endpoint',
    'request.rate_limited',
  ],
  server: ['server.internal', 'server.unreachable', 'server.bad_answer'],
  api_key: [
    'api_key.missing',
    'api_key.malformed',
    'api_key.unknown',
    'api_key.revoked',
    'api_key.expired',
    'api_key.scope',
    'api_key.not_found',
  ],
  proof: [
    'proof.missing',
    'proof.malformed',
    'proof.bad_key',
    'proof.stale',
    'proof.bad_signature',
    'proof.replayed',
    'proof.busy',
    'proof.key_mismatch',
  ],
  protocol: ['protocol.unsupported_version'],
  credential: ['credential.unsupported', 'credential.bad_expiry'],
  preauth_key: [
    'preauth_key.malformed',
    'preauth_key.unknown',
    'preauth_key.revoked',
    'preauth_key.expired',
    'preauth_key.used',
    'preauth_key.unusable',
    'preauth_key.no_owner',
    'preauth_key.not_found',
  ],
  jwt: [
    'jwt.too_large',
    'jwt.not_jws',
    'jwt.malformed',
    'jwt.bad_alg',
    'jwt.bad_typ',
    'jwt.header_field',
    'jwt.unknown_kid',
    'jwt.key_mismatch',
    'jwt.bad_signature',
    'jwt.bad_claim',
    'jwt.missing_exp',
    'jwt.expired',
    'jwt.not_yet_valid',
    'jwt.missing_audience',
    'jwt.wrong_audience',
    'jwt.wrong_issuer',
    'jwt.keys_unavailable',
  ],
  ...KEY_CODES,
  kubernetes: [
    'kubernetes.unknown_cluster',
    'kubernetes.not_projected',
    'kubernetes.inconsistent',
    'kubernetes.bad_subject',
  ],
  spiffe: ['spiffe.unknown_trust_domain', 'spiffe.bundle_empty', 'spiffe.missing_sub', 'spiffe.bad_id'],
  workload: ['workload.no_tags'],
  oidc: [
    'oidc.disabled',
    'oidc.unknown_provider',
    'oidc.discovery_failed',
    'oidc.unknown_state',
    'oidc.browser_mismatch',
    'oidc.denied',
    'oidc.code_rejected',
    'oidc.nonce_mismatch',
    'oidc.invalid_response',
    'oidc.failed',
    'oidc.no_subject',
    'oidc.no_email',
    'oidc.email_unverified',
    'oidc.not_allowed',
  ],
  login: [
    'login.not_found',
    'login.pending',
    'login.used',
    'login.failed',
    'login.expired',
    'login.closed',
    'login.busy',
  ],
  node: [
    'node.unknown',
    'node.expired',
    'node.not_found',
    'node.bad_name',
    'node.keys_same',
    'node.name_taken',
    'node.machine_key_taken',
    'node.wireguard_key_taken',
    'node.address_taken',
    'node.deleted',
    'node.ephemeral',
  ],
  ...IP_CODES,
  address: ['address.exhausted'],
  endpoint: ['endpoint.malformed'],
  route: ['route.malformed', 'route.not_advertised'],
  tag: ['tag.undefined', 'tag.not_owner'],
  user: ['user.email_taken', 'user.not_found'],
  policy: [
    'policy.invalid',
    'policy.version_conflict',
    'policy.unknown_version',
    // Questions about the policy (explain, preview) that cannot be answered:
    'policy.unknown_node',
    'policy.invalid_proto',
  ],
  pki: [
    'pki.unavailable',
    'pki.bad_csr',
    'pki.weak_key',
    'pki.bad_name',
    'pki.name_not_allowed',
    'pki.too_many',
    'pki.rotation_pending',
    'pki.no_rotation',
    'pki.overlap_not_over',
  ],
  stream: ['stream.bad_message'],
  store: [
    'store.unavailable',
    'store.target_not_empty',
    // A deposed leader's late write, refused by the store: logged, never answered.
    'store.leader_term_stale',
  ],
  session: ['session.missing', 'session.unknown', 'session.expired', 'session.idle'],
  csrf: ['csrf.missing_token', 'csrf.bad_token', 'csrf.cross_site', 'csrf.bad_origin'],
  console: ['console.role', 'console.link_invalid'],
  config: ['config.unreadable', 'config.bad_yaml', 'config.invalid', 'config.unknown_flag', 'config.bad_prefix'],
  relay: ['relay.key_malformed', 'relay.key_exposed'],
  port: ['port.in_use', 'port.needs_privilege', 'port.address_unavailable', 'port.open_failed'],
  // Why a load balancer's connection was closed before any request: logged, never answered.
  proxy_protocol: [
    'proxy_protocol.missing',
    'proxy_protocol.malformed',
    'proxy_protocol.too_large',
    'proxy_protocol.truncated',
    'proxy_protocol.timeout',
  ],
});

/** Any code of the server's errors. */
export type ServerCode = CodeOf<typeof SERVER_CODES>;

/** Areas of the server's own start-up errors, and of connections closed unanswered: never in an answer. */
const UNANSWERED_AREAS = ['config', 'relay', 'port', 'proxy_protocol'] as const;

/** The codes of answers to HTTP requests and map-stream connections. */
export type AnswerCode = CodeOf<
  typeof SERVER_CODES,
  Exclude<keyof typeof SERVER_CODES, (typeof UNANSWERED_AREAS)[number]>
>;

const ANSWER_CODES: ReadonlySet<string> = new Set(
  allCodes(SERVER_CODES).filter((c) => !UNANSWERED_AREAS.some((area) => c.startsWith(`${area}.`))),
);

/** Whether a code from elsewhere (a schema's refinement) is one the server may answer with. */
export const isAnswerCode = (code: string): code is AnswerCode => ANSWER_CODES.has(code);
