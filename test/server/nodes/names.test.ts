import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dnsLabel, isDnsLabel } from '../../../server/nodes/names.ts';

describe('node names', () => {
  describe('dnsLabel turns a reported hostname into a DNS label', () => {
    const cases: Array<[string, string]> = [
      ['web', 'web'],
      ['Web-Server', 'web-server'],
      ['db1.corp.example.com', 'db1'],
      ["Alice's MacBook Pro", 'alice-s-macbook-pro'],
      ['build_agent__7', 'build-agent-7'],
      ['--edge--', 'edge'],
      ['café', 'caf'],
      ['日本', 'node'],
      ['...', 'node'],
      ['-', 'node'],
    ];
    for (const [hostname, label] of cases) {
      it(`"${hostname}" -> "${label}"`, () => expect(dnsLabel(hostname)).toBe(label));
    }

    it('keeps room for a -N suffix and never ends in a hyphen after cutting', () => {
      const long = dnsLabel(`${'a'.repeat(54)}-${'b'.repeat(40)}`);
      expect(long).toBe('a'.repeat(54));
      expect(dnsLabel('x'.repeat(200))).toHaveLength(55);
      expect(isDnsLabel(`${dnsLabel('x'.repeat(200))}-999`)).toBe(true);
    });

    it('always gives a valid label, whatever the input', () => {
      for (let i = 0; i < 500; i++) {
        const junk = randomBytes(1 + (i % 90)).toString('latin1');
        const label = dnsLabel(junk);
        expect(isDnsLabel(label), `${JSON.stringify(junk)} -> ${label}`).toBe(true);
      }
    });
  });

  describe('isDnsLabel', () => {
    it.each(['a', 'web', 'web-2', '0day', 'a'.repeat(63), 'a-b-c'])('accepts "%s"', (name) => {
      expect(isDnsLabel(name)).toBe(true);
    });
    it.each(['', '-web', 'web-', 'Web', 'web_2', 'web.example', 'a'.repeat(64), 'wéb', 'web 2'])(
      'refuses "%s"',
      (name) => {
        expect(isDnsLabel(name)).toBe(false);
      },
    );
  });
});
