import * as client from 'openid-client';
import type { UserService } from '../admin/user-service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { TrellisError } from '../errors.ts';
import { exchange, fail, personFromTokens } from '../identity/oidc/exchange.ts';
import type { OidcProviders } from '../identity/oidc/providers.ts';
import type { ConsoleSessionRecord } from '../store/records.ts';
import type { ConsoleSessions } from './console-sessions.ts';

/** A console sign-in between the redirect to the provider and its return. Memory only: it lasts minutes. */
interface PendingSignIn {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Ties the return to the browser that left (a cookie), so a link sent to someone else cannot finish it. */
  browserBinding: string;
  /** Where in the console to go afterwards. */
  next: string;
  expiresAt: number;
}

interface ConsoleSignInDeps {
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
 * Signs people in to the console through the same identity providers, client and redirect URI
 * as the agents' sign-in: authorization code with PKCE S256, state and nonce, bound to the
 * browser; the person is then upserted as at any sign-in (the provider's allow-lists apply) and
 * gets a console session.
 */
export class ConsoleSignIn {
  private readonly pending = new Map<string, PendingSignIn>();

  constructor(private readonly d: ConsoleSignInDeps) {}

  /** Whether a provider's return with this state belongs to a console sign-in. */
  owns(state: string): boolean {
    return this.pending.has(state);
  }

  /** The provider's authorization URL for a new sign-in. */
  async begin(providerName: string | undefined, next: string | undefined, browserBinding: string): Promise<string> {
    const provider = await this.d.providers.get(providerName);
    this.sweep();
    if (this.pending.size >= MAX_PENDING)
      throw new TrellisError('unavailable', 'login.busy', 'too many sign-ins are in progress; retry in a minute');
    const p: PendingSignIn = {
      provider: provider.config.name,
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      browserBinding,
      next: consolePath(next),
      expiresAt: this.d.now() + this.d.timeoutMs,
    };
    this.pending.set(p.state, p);
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
    const p = this.pending.get(query.get('state') ?? '');
    try {
      if (!p || p.expiresAt <= this.d.now())
        throw fail(
          'invalid',
          'oidc.unknown_state',
          'this sign-in is not in progress (expired or already used); sign in again',
        );
      // A state is good for one return only.
      this.pending.delete(p.state);
      if (p.browserBinding !== browserBinding)
        throw fail(
          'forbidden',
          'oidc.browser_mismatch',
          'this sign-in was started in another browser; sign in again here',
        );
      const provider = await this.d.providers.get(p.provider);
      const current = new URL(`${this.d.redirectUri()}?${query.toString()}`);
      const tokens = await exchange(() =>
        client.authorizationCodeGrant(
          provider.client,
          current,
          { pkceCodeVerifier: p.codeVerifier, expectedState: p.state, expectedNonce: p.nonce, idTokenExpected: true },
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
      const { token, session } = await this.d.sessions.start(user, p.provider, source);
      await this.d.audit.record({
        kind: 'login',
        outcome: 'success',
        method: 'oidc',
        actor: user.email,
        identity: person.subject,
        source,
        code: 'console.signed_in',
        message: `${user.email} signed in to the console through ${p.provider}`,
      });
      return { token, session, next: p.next };
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

  private sweep(): void {
    const now = this.d.now();
    for (const [state, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(state);
  }
}

/** A place in the console to return to: only a path under /console/, never another site. */
function consolePath(next: string | undefined): string {
  if (next && /^\/console(\/[A-Za-z0-9\-._~/%?=&]*)?$/.test(next) && !next.includes('//')) return next;
  return CONSOLE_HOME;
}
