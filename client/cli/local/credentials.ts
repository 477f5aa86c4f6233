import type { Credential } from '../../../protocol/join.ts';
import { UsageError, type FlagSpecs } from '../../../cli-flags/index.ts';

/** Flag values by name, as a command parsed them. */
type GivenFlags = Readonly<Record<string, unknown>>;

/**
 * How `trellis up` proves who is joining. Each way of signing in is one provider: it names the
 * flags it reads and turns them into a wire Credential (protocol/join.ts). OIDC, SPIFFE and
 * Kubernetes providers join this list; `up` itself does not change.
 */
interface CredentialProvider {
  /** Flags this provider reads (they become flags of `up`, with their `--help` lines). */
  readonly flags: FlagSpecs;
  /** A credential when this provider's flags are present, else undefined. */
  credential(flags: GivenFlags, env: NodeJS.ProcessEnv): Promise<Credential | undefined>;
}

const preAuthKeyProvider: CredentialProvider = {
  flags: {
    'auth-key': {
      type: 'string',
      value: 'KEY',
      help: 'a pre-auth key from the administrator (or TRELLIS_AUTH_KEY; "file:PATH" reads it from a file)',
    },
  },
  async credential(flags, env) {
    const given = flags['auth-key'];
    let key = typeof given === 'string' ? given : env.TRELLIS_AUTH_KEY;
    if (key === undefined) return undefined;
    if (key.startsWith('file:')) {
      const { readFile } = await import('node:fs/promises');
      const path = key.slice(5);
      key = (
        await readFile(path, 'utf8').catch((err: Error) => {
          throw new UsageError('cli.unreadable_file', `--auth-key: cannot read ${path}: ${err.message}`);
        })
      ).trim();
    }
    if (key.length === 0 || key.length > 256 || /\s/.test(key))
      throw new UsageError('cli.bad_value', '--auth-key: a pre-auth key is 1-256 characters without spaces');
    return { type: 'preauth-key', key };
  },
};

export const CREDENTIAL_PROVIDERS: readonly CredentialProvider[] = [preAuthKeyProvider];

/** The credential from whichever provider's flags were given; more than one is a usage error. */
export async function credentialFrom(
  flags: GivenFlags,
  env: NodeJS.ProcessEnv,
  providers = CREDENTIAL_PROVIDERS,
): Promise<Credential | undefined> {
  const found: Credential[] = [];
  for (const p of providers) {
    const c = await p.credential(flags, env);
    if (c) found.push(c);
  }
  if (found.length > 1)
    throw new UsageError(
      'cli.conflicting_flags',
      `give one way to sign in, not several (${found.map((c) => c.type).join(', ')})`,
    );
  return found[0];
}
