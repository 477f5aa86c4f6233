import { describe, expect, it } from 'vitest';
import { commandLine, run } from '../../../client/system/run.ts';

describe('running system commands', () => {
  it('passes arguments verbatim, with no shell in between', async () => {
    const { stdout } = await run('printf', ['%s|', 'a b', '$(id)', ';rm -rf /']);
    expect(stdout).toBe('a b|$(id)|;rm -rf /|');
  });

  it('feeds stdin', async () => {
    expect((await run('cat', [], { input: 'hello\n' })).stdout).toBe('hello\n');
  });

  it('reports a failing command with its command line and its own stderr', async () => {
    const err = await run('sh', ['-c', 'echo "RTNETLINK answers: File exists" >&2; exit 2']).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'system.command_failed',
      exitCode: 2,
      stderr: 'RTNETLINK answers: File exists\n',
    });
    expect((err as Error).message).toBe(
      '"sh -c echo "RTNETLINK answers: File exists" >&2; exit 2" failed: RTNETLINK answers: File exists',
    );
  });

  it('tells a missing program apart from a failing one', async () => {
    await expect(run('trellis-no-such-program', [])).rejects.toMatchObject({ code: 'system.command_not_found' });
  });

  it('kills a command that overruns its time', async () => {
    const t0 = Date.now();
    await expect(run('sleep', ['5'], { timeoutMs: 200 })).rejects.toMatchObject({ code: 'system.command_timeout' });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('enters a network namespace through ip netns exec', () => {
    expect(commandLine('nft', ['-f', '-'], 'tr1-a')).toEqual(['ip', 'netns', 'exec', 'tr1-a', 'nft', '-f', '-']);
    expect(commandLine('nft', ['-f', '-'])).toEqual(['nft', '-f', '-']);
  });
});
