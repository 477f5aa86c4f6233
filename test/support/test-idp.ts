import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person the test identity provider knows; the login form accepts any password. */
export interface IdpUser {
  email: string;
  email_verified: boolean;
  name: string;
  groups: string[];
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (oidc-provider) in this process, on a loopback port: discovery,
 * authorization code with PKCE, device authorization (RFC 8628), userinfo with a groups claim,
 * and its own login and consent pages (development interactions: any password is accepted for
 * a known account).
 */
export async function startTestIdp(
  users: Record<string, IdpUser>,
  redirectUri: () => string,
  /** Where it listens; default a free loopback port (an e2e lab puts it on a host's address). */
  at: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<TestIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(at.port, at.host, resolve));
  const issuer = `http://${at.host}:${(server.address() as AddressInfo).port}`;
  const clientId = 'trellis';
  const clientSecret = 'trellis-test-secret-0123456789abcdef';
  let provider: Provider | undefined;
  // The server's redirect URI is known only once it listens: build the provider on first request.
  const build = () =>
    new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri()],
          grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      findAccount: async (_ctx: unknown, id: string) => {
        const user = users[id];
        return user && { accountId: id, claims: async () => ({ sub: id, ...user }) };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
      cookies: { keys: ['trellis-test-cookie-key'] },
      ttl: { DeviceCode: 600, AuthorizationCode: 60 },
    });
  server.on('request', (req, res) => {
    provider ??= build();
    provider.callback()(req, res);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The server config for this provider. */
export function idpConfig(idp: TestIdp, over: Record<string, unknown> = {}) {
  return {
    providers: [
      {
        name: 'test-idp',
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        scopes: ['openid', 'email', 'profile', 'groups'],
        allowInsecureIssuer: true,
        ...over,
      },
    ],
  };
}
