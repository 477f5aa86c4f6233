import { randomUUID } from 'node:crypto';
import type { LoginPrompt } from '../control/oidc-login.ts';
import { AgentError } from './errors.ts';
import type { StatusResponse } from './local-api/messages.ts';

/**
 * A person's sign-in, run by the agent (which holds the machine key the server ties the sign-in
 * to) and watched by the CLI over the local API in two steps: `start` answers as soon as there
 * is something to show (the URL and code), `wait` long-polls until it is over. One sign-in at a
 * time: starting another cancels the one before (a second terminal, or a retry after Ctrl-C).
 */
type SignInRun = (present: (prompt: LoginPrompt) => void, signal: AbortSignal) => Promise<StatusResponse>;

type SignInOutcome = { status: 'pending' } | { status: 'complete'; result: StatusResponse };

interface Pending {
  id: string;
  controller: AbortController;
  done: Promise<StatusResponse>;
  settled: boolean;
}

export class SignIns {
  private current: Pending | undefined;

  /** Starts `run`; resolves with its prompt, or rejects if it fails before showing one. */
  async start(run: SignInRun): Promise<{ id: string; prompt: LoginPrompt }> {
    this.cancel();
    const controller = new AbortController();
    let shown!: (p: LoginPrompt) => void;
    const prompt = new Promise<LoginPrompt>((resolve) => {
      shown = resolve;
    });
    const pending: Pending = {
      id: randomUUID(),
      controller,
      done: run((p) => shown(p), controller.signal),
      settled: false,
    };
    pending.done.then(
      () => (pending.settled = true),
      () => (pending.settled = true),
    );
    this.current = pending;
    const first = await Promise.race([prompt, pending.done.then(() => undefined)]).catch((err: unknown) => {
      if (this.current === pending) this.current = undefined;
      throw err;
    });
    if (!first) throw new AgentError('agent.join_failed', 'the sign-in ended before showing anything to open');
    return { id: pending.id, prompt: first };
  }

  /** Waits up to `waitMs` for the sign-in `id`; a failed sign-in rejects with its error. */
  async wait(id: string, waitMs: number): Promise<SignInOutcome> {
    const pending = this.current;
    if (!pending || pending.id !== id)
      throw new AgentError(
        'agent.not_found',
        'no such sign-in in progress (it finished, was cancelled, or another one started)',
      );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, waitMs, undefined);
    });
    try {
      const result = await Promise.race([pending.done, timeout]);
      if (!result) return { status: 'pending' };
      return { status: 'complete', result };
    } finally {
      clearTimeout(timer);
      if (pending.settled && this.current === pending) this.current = undefined;
    }
  }

  /** Cancels the sign-in in progress (`id` given: only that one). */
  cancel(id?: string): boolean {
    const pending = this.current;
    if (!pending || (id !== undefined && pending.id !== id)) return false;
    pending.controller.abort();
    this.current = undefined;
    return true;
  }
}
