import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import type { OidcProviderConfig } from '../../config/identity-schema.ts';
import { TrellisError, invalid } from '../../errors.ts';

export interface OidcProvider {
  config: OidcProviderConfig;
  client: client.Configuration;
  supportsDevice: boolean;
}

/**
 * The configured identity providers, each discovered (`/.well-known/openid-configuration`) on
 * first use and kept; a failed discovery is retried at the next sign-in.
 */
export class OidcProviders {
  private readonly discovered = new Map<string, Promise<OidcProvider>>();

  constructor(private readonly configs: readonly OidcProviderConfig[]) {}

  get enabled(): boolean {
    return this.configs.length > 0;
  }

  async get(name: string | undefined): Promise<OidcProvider> {
    const config = name === undefined ? this.configs[0] : this.configs.find((c) => c.name === name);
    if (!config) {
      if (this.configs.length === 0)
        throw invalid('oidc.disabled', 'sign-in through an identity provider is not configured on this server', 'body');
      throw invalid(
        'oidc.unknown_provider',
        `no identity provider "${name}"; configured: ${this.configs.map((c) => c.name).join(', ')}`,
        'body.provider',
      );
    }
    let found = this.discovered.get(config.name);
    if (!found) {
      found = discover(config);
      this.discovered.set(config.name, found);
      found.catch(() => this.discovered.delete(config.name));
    }
    return found;
  }
}

async function discover(config: OidcProviderConfig): Promise<OidcProvider> {
  const secret =
    config.clientSecret ?? (config.clientSecretFile ? readFileSync(config.clientSecretFile, 'utf8').trim() : undefined);
  try {
    const c = await client.discovery(
      new URL(config.issuer),
      config.clientId,
      secret,
      secret === undefined ? client.None() : client.ClientSecretBasic(secret),
      config.allowInsecureIssuer ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    return {
      config,
      client: c,
      supportsDevice: config.deviceFlow && !!c.serverMetadata().device_authorization_endpoint,
    };
  } catch (err) {
    throw new TrellisError(
      'unavailable',
      'oidc.discovery_failed',
      `the identity provider ${config.name} (${config.issuer}) could not be reached; retry later`,
      { cause: err },
    );
  }
}
