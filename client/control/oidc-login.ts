import { StartLoginResponse, WaitLoginResponse } from '../../protocol/login.ts';
import type { Credential } from '../../protocol/join.ts';
import { ControlError } from './control-error.ts';
import { answerCode, type ControlClient } from './control-client.ts';

/** What the person must see to sign in: a URL to open, and a code to compare or to enter. */
export interface LoginPrompt {
  url: string;
  mode: 'browser' | 'device';
  /** Device flow: enter this at the provider. */
  userCode?: string;
  /** Browser flow: the sign-in page shows the same code. */
  verificationCode?: string;
  expiresAt: string;
}

interface OidcLoginOptions {
  control: ControlClient;
  /** Shown on the sign-in page. */
  hostname: string;
  /** A provider's name on the server; its first one when absent. */
  provider?: string;
  /** Prefer the device flow (no browser here); the server falls back to a URL when it cannot. */
  device?: boolean;
  /** Shows the prompt to the person (print it, open a browser, ...). */
  present: (prompt: LoginPrompt) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * The agent's side of signing a person in (see protocol/login.ts): start, show the URL, wait
 * until the person has signed in, and return the credential to register with. Throws a
 * ControlError when the sign-in fails (its code and message come from the server).
 *
 *   const credential = await signInWithOidc({ control, hostname, present: (p) => console.log(p.url) });
 *   await control.register({ wireguardKey, hostname, credential });
 */
export async function signInWithOidc(o: OidcLoginOptions): Promise<Credential & { type: 'oidc' }> {
  const started = StartLoginResponse.parse(
    await o.control.request('POST', '/api/v1/machine/login', {
      hostname: o.hostname,
      ...(o.provider && { provider: o.provider }),
      ...(o.device && { device: true }),
    }),
  );
  await o.present({
    url: started.url,
    mode: started.mode,
    userCode: started.userCode,
    verificationCode: started.verificationCode,
    expiresAt: started.expiresAt,
  });
  let failures = 0;
  for (;;) {
    if (o.signal?.aborted) throw new ControlError('login.cancelled', 'the sign-in was cancelled');
    let answer: WaitLoginResponse;
    try {
      answer = WaitLoginResponse.parse(
        await o.control.request('POST', '/api/v1/machine/login/wait', { loginId: started.loginId }),
      );
      failures = 0;
    } catch (err) {
      // The server or the network hiccuped: keep waiting, a little slower each time.
      if (!(err instanceof ControlError) || !err.retryable || ++failures > 10) throw err;
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
      continue;
    }
    if (answer.status === 'complete') return { type: 'oidc', loginId: started.loginId };
    if (answer.status === 'failed')
      throw new ControlError(
        answer.code === undefined ? 'login.failed' : answerCode(answer.code),
        answer.message ?? 'the sign-in failed',
        401,
      );
  }
}

/** The usual way to show the prompt on a terminal. */
export function describeLoginPrompt(p: LoginPrompt): string {
  return p.mode === 'device'
    ? `To sign in, open ${p.url} and enter the code ${p.userCode}.`
    : `To sign in, open ${p.url}\n(the page shows the code ${p.verificationCode}; continue only if it matches)`;
}
