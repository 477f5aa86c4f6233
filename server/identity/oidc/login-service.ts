import * as client from 'openid-client';
import type { StartLoginRequest, StartLoginResponse, WaitLoginResponse } from '../../../protocol/login.ts';
import type { UserService } from '../../admin/user-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { TrellisError, notFound } from '../../errors.ts';
import { dnsLabel } from '../../nodes/names.ts';
import type { LoginSession, LoginSessions } from './login-sessions.ts';
import { failureCode, randomId, verificationCode } from './login-sessions.ts';
import { exchange, fail, personFromTokens } from './exchange.ts';
import type { OidcProvider, OidcProviders } from './providers.ts';
import { isoTime } from '../../../protocol/time.ts';

interface LoginServiceDeps {
  providers: OidcProviders;
  sessions: LoginSessions;
  users: UserService;
  audit: AuditLog;
  now: () => number;
  /** The server's public URL, known once it listens. */
  publicUrl: () => string;
  loginTimeoutMs: number;
}

/** The one redirect URI every browser sign-in comes back to. */
export const CALLBACK_PATH = '/login/callback';

/**
 * Signs people in for their agents.
 *
 * Browser flow: start (agent) -> hand-off page (person) -> continue: binds the browser and
 * redirects to the provider with state, nonce and a PKCE S256 challenge -> callback: the code
 * is exchanged with the verifier, the ID token's nonce checked, the person's claims read and
 * the server's rules applied -> the user is upserted with their groups -> the agent, waiting,
 * registers with the login id.
 * Device flow (RFC 8628): start asks the provider for a user code and polls in the background.
 */
export class LoginService {
  constructor(private readonly d: LoginServiceDeps) {}

  async start(machineKey: string, req: StartLoginRequest, source: string): Promise<StartLoginResponse> {
    const provider = await this.d.providers.get(req.provider);
    const now = this.d.now();
    const session: LoginSession = {
      id: randomId(),
      machineKey,
      hostname: dnsLabel(req.hostname),
      provider: provider.config.name,
      mode: req.device && provider.supportsDevice ? 'device' : 'browser',
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      createdAt: now,
      expiresAt: now + this.d.loginTimeoutMs,
      status: 'pending',
    };
    const base = { loginId: session.id, expiresAt: isoTime(session.expiresAt) };
    let answer: StartLoginResponse;
    let device: client.DeviceAuthorizationResponse | undefined;
    if (session.mode === 'device') {
      device = await exchange(() =>
        client.initiateDeviceAuthorization(provider.client, { scope: provider.config.scopes.join(' ') }),
      );
      answer = {
        ...base,
        mode: 'device',
        url: device.verification_uri_complete ?? device.verification_uri,
        userCode: device.user_code,
      };
    } else {
      answer = {
        ...base,
        mode: 'browser',
        url: `${this.d.publicUrl()}/login/${session.id}`,
        verificationCode: verificationCode(session.id),
      };
    }
    await this.d.sessions.add(session);
    // Polled by this replica; the agent may wait on any other, which reads the outcome from the store.
    if (device) this.pollDevice(provider, session, device);
    await this.d.audit.record({
      kind: 'login',
      outcome: 'success',
      method: 'oidc',
      source,
      code: 'login.started',
      message: `sign-in started (${session.mode}) for ${session.hostname} through ${session.provider}`,
    });
    return answer;
  }

  /** The pending browser sign-in behind a hand-off page. */
  async handoff(loginId: string): Promise<LoginSession & { verificationCode: string }> {
    const s = await this.d.sessions.get(loginId);
    if (!s || s.mode !== 'browser')
      throw notFound('login.not_found', 'this sign-in link is not known; start again with trellis up');
    if (s.status !== 'pending') throw this.ended(s);
    return { ...s, verificationCode: verificationCode(s.id) };
  }

  /** The provider's authorization URL; the browser that follows it must be the one that comes back. */
  async authorizationUrl(loginId: string, browserBinding: string): Promise<string> {
    const session = await this.handoff(loginId);
    if (!(await this.d.sessions.bindBrowser(session.id, browserBinding))) throw await this.endedNow(session);
    const provider = await this.d.providers.get(session.provider);
    return client.buildAuthorizationUrl(provider.client, {
      redirect_uri: this.redirectUri(),
      scope: provider.config.scopes.join(' '),
      state: session.state,
      nonce: session.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(session.codeVerifier),
      code_challenge_method: 'S256',
      ...(provider.config.prompt && { prompt: provider.config.prompt }),
    }).href;
  }

  /** The pending sign-in a callback's state names, if any (to find its browser cookie). */
  async peekByState(state: string): Promise<LoginSession | undefined> {
    return state ? this.d.sessions.byOAuthState(state) : undefined;
  }

  /** Completes a browser sign-in from the provider's redirect. Every failure is audited. */
  async callback(query: URLSearchParams, browserBinding: string | undefined, source: string): Promise<LoginSession> {
    const state = query.get('state') ?? '';
    const session = state ? await this.d.sessions.byOAuthState(state) : undefined;
    try {
      if (!session)
        throw fail(
          'invalid',
          'oidc.unknown_state',
          'this sign-in response does not belong to a sign-in in progress (unknown or already used state); start again with trellis up',
        );
      if (session.status !== 'pending') throw this.ended(session);
      if (!session.browserBinding || session.browserBinding !== browserBinding) {
        throw fail(
          'forbidden',
          'oidc.browser_mismatch',
          'this sign-in was continued in another browser; open the sign-in link again in this one',
        );
      }
      const provider = await this.d.providers.get(session.provider);
      const current = new URL(`${this.redirectUri()}?${query.toString()}`);
      const tokens = await exchange(() =>
        client.authorizationCodeGrant(
          provider.client,
          current,
          {
            pkceCodeVerifier: session.codeVerifier,
            expectedState: session.state,
            expectedNonce: session.nonce,
            idTokenExpected: true,
          },
          { redirect_uri: this.redirectUri() },
        ),
      );
      await this.finish(session, provider, tokens, source);
      return session;
    } catch (err) {
      await this.failed(session, err, source);
      throw err;
    }
  }

  async wait(machineKey: string, loginId: string, ms: number): Promise<WaitLoginResponse> {
    const s = await this.mine(machineKey, loginId);
    const now = await this.d.sessions.wait(s, ms);
    if (now.status === 'pending') return { status: 'pending' };
    if (now.status === 'failed') return { status: 'failed', code: failureCode(now), message: now.error?.message };
    return { status: 'complete', user: now.email };
  }

  /** Uses up a completed sign-in for a registration by the machine that started it. */
  async consume(machineKey: string, loginId: string): Promise<LoginSession> {
    const s = await this.mine(machineKey, loginId);
    if (s.status === 'pending') {
      throw new TrellisError(
        'conflict',
        'login.pending',
        'the sign-in is not complete yet; wait for it (POST /api/v1/machine/login/wait) and register again',
        { where: 'body.credential.loginId' },
      );
    }
    if (s.status !== 'complete') throw this.ended(s);
    // Two registrations with one sign-in, on two replicas: the store lets one use it.
    if (!(await this.d.sessions.consume(s.id, machineKey))) throw await this.endedNow(s);
    return { ...s, status: 'used' };
  }

  close(): void {
    this.d.sessions.close();
  }

  private async mine(machineKey: string, loginId: string): Promise<LoginSession> {
    const s = await this.d.sessions.get(loginId);
    // Someone else's sign-in is answered exactly like an unknown one.
    if (!s || s.machineKey !== machineKey)
      throw notFound('login.not_found', 'no sign-in with this id was started by this machine');
    return s;
  }

  private ended(s: LoginSession): TrellisError {
    if (s.status === 'failed') return fail('unauthenticated', failureCode(s), s.error?.message ?? 'the sign-in failed');
    return fail('conflict', 'login.used', 'this sign-in was already completed and used; start again with trellis up');
  }

  /** How a sign-in that another request (perhaps on another replica) just ended, ended. */
  private async endedNow(s: LoginSession): Promise<TrellisError> {
    const now = await this.d.sessions.get(s.id);
    if (!now) return notFound('login.not_found', 'this sign-in is no longer known; start again with trellis up');
    return this.ended(now);
  }

  private redirectUri(): string {
    return `${this.d.publicUrl()}${CALLBACK_PATH}`;
  }

  private pollDevice(provider: OidcProvider, session: LoginSession, device: client.DeviceAuthorizationResponse): void {
    const signal = this.d.sessions.track(session.id);
    const poll = async () => {
      try {
        const tokens = await exchange(() =>
          client.pollDeviceAuthorizationGrant(provider.client, device, undefined, { signal }),
        );
        await this.finish(session, provider, tokens, 'device-flow');
      } catch (err) {
        if (session.status === 'pending' && !signal.aborted) await this.failed(session, err, 'device-flow');
      }
    };
    void poll();
  }

  private async finish(
    session: LoginSession,
    provider: OidcProvider,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    source: string,
  ): Promise<void> {
    const person = await personFromTokens(provider, tokens);
    const user = await this.d.users.signIn({
      subject: person.subject,
      email: person.email,
      displayName: person.name,
      groups: person.groups,
    });
    const won = await this.d.sessions.settle(session, {
      status: 'complete',
      userId: user.id,
      email: user.email,
      proof: { issuer: provider.config.issuer, subject: person.sub },
    });
    if (!won) throw await this.endedNow(session);
    await this.d.audit.record({
      kind: 'login',
      outcome: 'success',
      method: 'oidc',
      actor: user.email,
      identity: person.subject,
      source,
      code: 'login.completed',
      message: `${user.email} signed in through ${provider.config.name} for ${session.hostname}${person.groups.length ? ` (groups: ${person.groups.join(', ')})` : ''}`,
    });
  }

  private async failed(session: LoginSession | undefined, err: unknown, source: string): Promise<void> {
    const known =
      err instanceof TrellisError
        ? err
        : fail('unavailable', 'oidc.failed', 'the sign-in could not be completed; start again', err);
    if (session?.status === 'pending')
      await this.d.sessions.settle(session, { status: 'failed', error: { code: known.code, message: known.message } });
    await this.d.audit.record({
      kind: 'login',
      outcome: 'failure',
      method: 'oidc',
      source,
      code: known.code,
      message: session
        ? `sign-in for ${session.hostname} through ${session.provider}: ${known.message}`
        : known.message,
    });
  }
}
