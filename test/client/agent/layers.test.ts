import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The agent's three layers meet only in agent.ts: control and engine never import each other. */
const root = new URL('../../../', import.meta.url).pathname;
const importsOf = (file: string) =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
const filesIn = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);

describe('agent layer boundaries', () => {
  it('the control client knows nothing of the data plane or the agent', () => {
    for (const f of filesIn('client/control')) {
      expect(
        importsOf(f).filter((i) => /wireguard|firewall|netconf|system|agent/.test(i)),
        f,
      ).toEqual([]);
    }
  });

  it('the engine knows nothing of the control client or the map', () => {
    expect(importsOf('client/agent/engine.ts').filter((i) => /control|protocol\/map|protocol\/node/.test(i))).toEqual(
      [],
    );
  });

  it('reconfig is pure: it imports types only, so it cannot reach a device, a socket or a clock', () => {
    const lines = readFileSync(join(root, 'client/agent/reconfig.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('import '));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => !l.startsWith('import type '))).toEqual([]);
  });
});
