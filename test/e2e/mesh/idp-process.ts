import { startTestIdp, type IdpUser } from '../../support/test-idp.ts';

/**
 * The test OpenID provider (test/support/test-idp.ts, oidc-provider) as a process of its own in
 * a lab namespace, so the server and the people's browsers reach it over the lab's network.
 * argv: HOST PORT REDIRECT_URI USERS_JSON. Prints `test IdP ready ISSUER CLIENT_ID CLIENT_SECRET`.
 */
const [host, port, redirect, users] = process.argv.slice(2);
const idp = await startTestIdp(JSON.parse(users!) as Record<string, IdpUser>, () => redirect!, {
  host: host!,
  port: Number(port),
});
process.stdout.write(`test IdP ready ${idp.issuer} ${idp.clientId} ${idp.clientSecret}\n`);
process.once('SIGTERM', () => void idp.close().then(() => process.exit(0)));
