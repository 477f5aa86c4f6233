import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OidcProviderConfig } from '../../../../server/config/identity-schema.ts';
import { TrellisError } from '../../../../server/errors.ts';
import { httpStatus } from '../../../../server/http/error-handler.ts';
import { OidcProviders } from '../../../../server/identity/oidc/providers.ts';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('identity providers', () => {
  it('an unreachable provider is 503 oidc.discovery_failed, keeping the network error as the cause', async () => {
    const config = OidcProviderConfig.parse({
      issuer: `http://127.0.0.1:${await closedPort()}`,
      clientId: 'trellis',
      allowInsecureIssuer: true,
    });
    const err = await new OidcProviders([config]).get(undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrellisError);
    const refused = err as TrellisError;
    expect([refused.code, httpStatus(refused), refused.retryable]).toEqual(['oidc.discovery_failed', 503, true]);
    expect(refused.cause).toBeInstanceOf(Error);
    expect(refused.message).not.toContain('ECONNREFUSED'); // the cause is for the log, not the caller
  });
});
