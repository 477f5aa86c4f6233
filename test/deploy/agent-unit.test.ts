import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('deploy/systemd/trellis-agent.service', () => {
  const unit = readFileSync('deploy/systemd/trellis-agent.service', 'utf8');

  it('runs the agent in the foreground on the default state directory, the socket open to group trellis', () => {
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node \/opt\/trellis\/bin\/trellis\.js agent --state-dir \/var\/lib\/trellis --socket-group trellis$/m,
    );
    expect(unit).toMatch(/^Type=simple$/m);
  });

  it('lets wireguard-go outlive an agent restart, and may write only its state and the UAPI sockets', () => {
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^RuntimeDirectoryPreserve=yes$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/trellis \/run\/wireguard$/m);
  });
});
