import { CommandError } from '../system/errors.ts';
import { run, type Runner } from '../system/run.ts';

/**
 * Loading nftables scripts. `nft -f` runs a whole script as one kernel transaction: either
 * every statement takes effect or none does, so a ruleset is never half-replaced.
 */
export async function loadNftScript(script: string, netns: string | undefined, runner: Runner = run): Promise<void> {
  await runner('nft', ['-f', '-'], { netns, input: script });
}

/** Deletes a table if it exists. */
export async function deleteNftTable(
  family: string,
  table: string,
  netns: string | undefined,
  runner: Runner = run,
): Promise<void> {
  // `add` first makes the delete valid whether or not the table exists, in one transaction.
  await loadNftScript(`add table ${family} ${table}\ndelete table ${family} ${table}\n`, netns, runner);
}

export async function listNftTable(
  family: string,
  table: string,
  netns: string | undefined,
  runner: Runner = run,
): Promise<string | undefined> {
  try {
    return (await runner('nft', ['list', 'table', family, table], { netns })).stdout;
  } catch (err) {
    if (err instanceof CommandError && /No such file or directory/.test(err.stderr)) return undefined;
    throw err;
  }
}

/** A string nft reads as exactly one quoted word (interface names are validated before this). */
export function nftQuote(word: string): string {
  if (!/^[A-Za-z0-9_.@:-]+$/.test(word)) throw new TypeError(`refusing to quote ${JSON.stringify(word)} for nft`);
  return `"${word}"`;
}
