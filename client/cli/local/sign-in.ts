import type { LocalApiClient } from '../../agent/local-api/client.ts';
import type { LoginRequest, StatusResponse } from '../../agent/local-api/messages.ts';
import { describeLoginPrompt } from '../../control/oidc-login.ts';
import { openBrowser } from './browser.ts';

/**
 * `trellis up --login` on the CLI side: the agent runs the sign-in (it holds the machine key);
 * this asks it to start, prints what to open (and opens it when there is a display), waits,
 * and cancels the agent's sign-in if the person gives up (Ctrl-C).
 */
interface SignInIo {
  write: (text: string) => void;
  open?: (url: string) => boolean;
}

export async function signInThroughAgent(
  agent: LocalApiClient,
  req: LoginRequest,
  io: SignInIo,
): Promise<StatusResponse> {
  const { id, prompt } = await agent.login(req);
  io.write(`${describeLoginPrompt(prompt)}\n`);
  if ((io.open ?? openBrowser)(prompt.url)) io.write('(opening it in your browser)\n');
  io.write('Waiting for the sign-in to complete...\n');
  const cancel = () => {
    void agent.cancelLogin(id).finally(() => process.exit(130));
  };
  process.once('SIGINT', cancel);
  try {
    for (;;) {
      const answer = await agent.waitLogin(id);
      if (answer.status === 'complete') return answer.result;
    }
  } finally {
    process.removeListener('SIGINT', cancel);
  }
}
