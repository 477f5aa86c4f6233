import { describe, expect, it } from 'vitest';
import { agentCommand } from '../../../../client/cli/agent.ts';

/** `--relay-transport` is checked where it enters, before anything runs (and before the root check). */
describe('trellis agent --relay-transport', () => {
  it('refuses a kind other than auto, udp or websocket, naming the flag and the choices', async () => {
    await expect(agentCommand(['--relay-transport', 'tcp'])).rejects.toMatchObject({
      code: 'cli.bad_value',
      exitCode: 2,
      message: expect.stringContaining(
        '--relay-transport: "tcp" must be one of auto, udp, websocket for `trellis agent`',
      ),
    });
  });

  it('is listed in the usage', async () => {
    await expect(agentCommand(['--help'])).rejects.toMatchObject({
      usage: expect.stringContaining('--relay-transport auto|udp|websocket'),
    });
  });
});
