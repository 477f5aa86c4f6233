import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../policy/parse.ts';
import { fuzz, mutatedText } from '../support/fuzz.ts';

/**
 * Policies as a team would write them (`clean`: defined names and valid values only), or with
 * wrong names, values and JSON types sprinkled in, so that every check of the loader is reached.
 */
function policiesOf(clean: boolean) {
  const orAnything = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    clean ? arb : fc.oneof({ weight: 9, arbitrary: arb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
  const list = <T>(arb: fc.Arbitrary<T>) => orAnything(fc.array(orAnything(arb), { minLength: 1, maxLength: 3 }));
  const pick = <T>(valid: T[], invalid: T[]) => fc.constantFrom(...(clean ? valid : [...valid, ...invalid]));
  const optional = { requiredKeys: [] as never[] };

  const users = pick(['alice@example.com', 'bob@example.com'], ['nobody', '']);
  const groups = pick(['group:eng', 'group:ops'], ['group:none', 'group:']);
  const tags = pick(['tag:web', 'tag:db'], ['tag:none', 'tag:']);
  const addresses = pick(['10.0.0.1', '10.1.0.0/16', '100.64.0.0/10', 'fd7a::/48'], ['10.0.0.0/33', '1.2.3', '10.2']);
  const selectors = fc.oneof(
    users,
    groups,
    tags,
    addresses,
    pick(['db1', 'lan', '*', 'autogroup:member'], ['nohost', 'autogroup:self', 'autogroup:tagged', 'autogroup:nope']),
  );
  const ports = pick(['*', '22', '80-443', '22,80', '65535'], ['0', '65536', '443-80', 'x', '']);
  const destinations = fc.tuple(selectors, ports).map(([s, p]) => `${s}:${p}`);
  const protos = pick(['tcp', 'udp', '6', '17'], ['icmp', 'ipv6-icmp', 'sctp', 'nope']);
  const ipEntries = fc.oneof(
    ports,
    fc.tuple(protos, ports).map(([p, n]) => `${p}:${n}`),
    pick(['icmp:*'], ['icmp:22', '256:*']),
  );
  /** Embedded tests probe single hosts on single ports. */
  const single = fc.oneof(users, tags, pick(['db1', '10.0.0.1'], ['lan', '10.0.0.0/8']));
  const probes = fc.tuple(single, pick(['22', '443'], ['*', '1-2'])).map(([s, p]) => `${s}:${p}`);
  const cluster = fc.record({
    cluster: pick(['prod'], ['*', '']),
    namespace: fc.constantFrom('a', '*'),
    serviceAccount: fc.constantFrom('b', '*'),
  });
  const spiffe = pick(['spiffe://prod.example.org/ns/*'], ['spiffe://x/*/a', 'http://x', 'spiffe://']);

  return fc.record(
    {
      groups: orAnything(
        fc.record({ 'group:eng': list(users), 'group:ops': list(fc.oneof(users, pick(['group:eng'], ['group:ops']))) }),
      ),
      tagOwners: orAnything(
        fc.record({ 'tag:web': list(fc.oneof(users, groups)), 'tag:db': list(fc.oneof(groups, tags)) }),
      ),
      hosts: orAnything(fc.record({ db1: orAnything(pick(['10.0.0.1'], ['10.0.0.0/8'])), lan: orAnything(addresses) })),
      acls: list(
        fc.record(
          {
            action: pick(['accept'], ['deny', 'check']),
            src: list(selectors),
            dst: list(destinations),
            proto: orAnything(protos),
          },
          { requiredKeys: clean ? ['action', 'src', 'dst'] : [] },
        ),
      ),
      grants: list(
        fc.record<Record<string, unknown>>(
          clean
            ? { src: list(selectors), dst: list(selectors), ip: list(ipEntries) }
            : {
                src: list(selectors),
                dst: list(fc.oneof(selectors, destinations)),
                ip: list(ipEntries),
                app: fc.dictionary(fc.constantFrom('example.com/cap/k8s', 'x'), fc.jsonValue({ maxDepth: 2 })),
                via: list(tags),
              },
          { requiredKeys: clean ? ['src', 'dst', 'ip'] : [] },
        ),
      ),
      autoApprovers: orAnything(
        fc.record({
          routes: orAnything(fc.dictionary(addresses, list(fc.oneof(users, groups, tags)))),
          exitNode: list(tags),
        }),
      ),
      tests: list(
        fc.record(
          { src: orAnything(single), accept: list(probes), deny: list(probes), proto: orAnything(protos) },
          { requiredKeys: clean ? ['src'] : [] },
        ),
      ),
      workloads: list(
        clean
          ? fc.oneof<fc.Arbitrary<unknown>[]>(
              fc.record({ spiffe, tags: list(tags) }),
              fc.record({ kubernetes: cluster, tags: list(tags) }),
            )
          : fc.record({ spiffe: orAnything(spiffe), kubernetes: orAnything(cluster), tags: list(tags) }, optional),
      ),
      ...(clean ? {} : { ssh: fc.constant([]), nope: fc.constant(1) }),
    },
    { requiredKeys: clean ? ['groups', 'tagOwners', 'hosts'] : [] },
  );
}

/** HuJSON text of a policy: compact or indented, with comments and trailing commas. */
const hujson = fc
  .tuple(fc.oneof(policiesOf(true), policiesOf(false)), fc.constantFrom(0, 2), fc.boolean(), fc.boolean())
  .map(([p, indent, comma, comment]) => {
    let text = JSON.stringify(p, null, indent);
    if (comma && indent > 0) text = text.replace(/([^\s{[,])\n(\s*[}\]])/g, '$1,\n$2');
    if (comment) text = `// team policy\n/* reviewed */ ${text}`;
    return text;
  });
const texts = fc.oneof(
  { weight: 3, arbitrary: hujson },
  { weight: 3, arbitrary: mutatedText(hujson) },
  { weight: 1, arbitrary: fc.string() },
);

describe('parsePolicy, given any text', () => {
  it('never throws, and either gives a policy or diagnostics that point inside the file', () => {
    const file = 'team/policy.hujson';
    fuzz(
      fc.property(texts, (text) => {
        const result = parsePolicy(text, file);
        if (result.policy) {
          expect(result.diagnostics).toEqual([]);
          return;
        }
        expect(result.diagnostics.length).toBeGreaterThan(0);
        const lines = text.split('\n');
        for (const d of result.diagnostics) {
          expect(d.file).toBe(file);
          expect(typeof d.code).toBe('string');
          expect(d.message.length).toBeGreaterThan(0);
          expect(
            Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length,
            `line ${d.line} of ${lines.length}`,
          ).toBe(true);
          const length = lines[d.line - 1]!.length;
          expect(
            Number.isInteger(d.column) && d.column >= 1 && d.column <= length + 1,
            `column ${d.column} of ${length}`,
          ).toBe(true);
        }
      }),
      { runs: 60 },
    );
  });
});
