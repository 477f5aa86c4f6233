import { describe, expect, it } from 'vitest';
import { agentCommand } from '../../../../client/cli/agent.ts';

/** `--relay-transport` is checked where it enters, before anything runs (and before the root check). */
describe('trellis agent --relay-transport', () => {
  it('refuses a kind other than auto, udp or websocket, naming the flag and the choices', async () => {
    await expect(agentCommand(['--relay-transport', 'tcp'])).rejects.toMatchObject({
      exitCode: 2,
      message: '--relay-transport: "tcp" must be one of auto, udp, websocket',
    });
  });

  it('is listed in the usage', async () => {
    await expect(agentCommand(['--help'])).rejects.toMatchObject({
      message: expect.stringContaining('--relay-transport KIND'),
    });
  });
});
