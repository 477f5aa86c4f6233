import * as client from 'openid-client';
import type { UserService } from '../admin/user-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { TrellisError } from '../errors.ts';
import { exchange, fail, personFromTokens } from '../identity/oidc/exchange.ts';
import type { OidcProviders } from '../identity/oidc/providers.ts';
import type { ConsoleSessionRecord, ConsoleSignInRecord } from '../store/records.ts';
import type { ConsoleSignInRepository } from '../store/store.ts';
import type { ConsoleSessions } from './console-sessions.ts';

interface ConsoleSignInDeps {
  /** The sign-ins between the redirect and the return, in the store: the return may reach any replica. */
  pending: ConsoleSignInRepository;
  providers: OidcProviders;
  sessions: ConsoleSessions;
  users: UserService;
  audit: AuditLog;
  now: () => number;
  /** The redirect URI registered at the providers (the agents' sign-in uses the same one). */
  redirectUri: () => string;
  timeoutMs: number;
}

const MAX_PENDING = 10_000;
export const CONSOLE_HOME = '/console/';
/**
 * What a console sign-in's OAuth state starts with: the callback is shared with the agents'
 * sign-ins, and tells them apart without a database read. Base64url (the agents' states) has
 * no dot, so no agent's state can start with it.
 */
const STATE_PREFIX = 'console.';

/**
 * Signs people in to the console through the same identity providers, client and redirect URI
 * as the agents' sign-in: authorization code with PKCE S256, state and nonce, bound to the
 * browser; the person is then upserted as at any sign-in (the provider's allow-lists apply) and
 * gets a console session. The sign-in in progress is in the store, so the provider may send
 * the browser back to any replica.
 */
export class ConsoleSignIn {
  constructor(private readonly d: ConsoleSignInDeps) {}

  /** Whether a provider's return with this state belongs to a console sign-in. */
  owns(state: string): boolean {
    return state.startsWith(STATE_PREFIX);
  }

  /** The provider's authorization URL for a new sign-in. */
  async begin(providerName: string | undefined, next: string | undefined, browserBinding: string): Promise<string> {
    const provider = await this.d.providers.get(providerName);
    const now = this.d.now();
    if ((await this.d.pending.countOpen(now)) >= MAX_PENDING)
      throw new TrellisError('unavailable', 'login.busy', 'too many sign-ins are in progress; retry in a minute');
    const p: ConsoleSignInRecord = {
      provider: provider.config.name,
      state: STATE_PREFIX + client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      browserBinding,
      next: consolePath(next),
      createdAt: now,
      expiresAt: now + this.d.timeoutMs,
    };
    await this.d.pending.create(p);
    return client.buildAuthorizationUrl(provider.client, {
      redirect_uri: this.d.redirectUri(),
      scope: provider.config.scopes.join(' '),
      state: p.state,
      nonce: p.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(p.codeVerifier),
      code_challenge_method: 'S256',
      ...(provider.config.prompt && { prompt: provider.config.prompt }),
    }).href;
  }

  /** Completes a sign-in from the provider's return: a new session, or an audited refusal. */
  async complete(
    query: URLSearchParams,
    browserBinding: string | undefined,
    source: string,
  ): Promise<{ token: string; session: ConsoleSessionRecord; next: string }> {
    let p: ConsoleSignInRecord | undefined;
    try {
      // A state is good for one return only: taking it deletes it, on every replica.
      p = await this.d.pending.take(query.get('state') ?? '');
      if (!p || p.expiresAt <= this.d.now())
        throw fail(
          'invalid',
          'oidc.unknown_state',
          'this sign-in is not in progress (expired or already used); sign in again',
        );
      if (p.browserBinding !== browserBinding)
        throw fail(
          'forbidden',
          'oidc.browser_mismatch',
          'this sign-in was started in another browser; sign in again here',
        );
      const { provider: providerName, codeVerifier, state, nonce, next } = p;
      const provider = await this.d.providers.get(providerName);
      const current = new URL(`${this.d.redirectUri()}?${query.toString()}`);
      const tokens = await exchange(() =>
        client.authorizationCodeGrant(
          provider.client,
          current,
          { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
          { redirect_uri: this.d.redirectUri() },
        ),
      );
      const person = await personFromTokens(provider, tokens);
      const user = await this.d.users.signIn({
        subject: person.subject,
        email: person.email,
        displayName: person.name,
        groups: person.groups,
      });
      const { token, session } = await this.d.sessions.start(user, providerName, source);
      await this.d.audit.record({
        kind: 'login',
        outcome: 'success',
        method: 'oidc',
        actor: user.email,
        identity: person.subject,
        source,
        code: 'console.signed_in',
        message: `${user.email} signed in to the console through ${providerName}`,
      });
      return { token, session, next };
    } catch (err) {
      const known =
        err instanceof TrellisError
          ? err
          : fail('unavailable', 'oidc.failed', 'the sign-in could not be completed', err);
      await this.d.audit.record({
        kind: 'login',
        outcome: 'failure',
        method: 'oidc',
        source,
        code: known.code,
        message: `console sign-in${p ? ` through ${p.provider}` : ''}: ${known.message}`,
      });
      throw known;
    }
  }
}

/** A place in the console to return to: only a path under /console/, never another site. */
function consolePath(next: string | undefined): string {
  if (next && /^\/console(\/[A-Za-z0-9\-._~/%?=&]*)?$/.test(next) && !next.includes('//')) return next;
  return CONSOLE_HOME;
}
