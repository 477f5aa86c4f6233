/**
 * Policy changes of the kinds a review shows, applied to a synthetic policy's text: ports
 * widened, rules dropped, a rule moved to another source group, a rule for everyone added.
 * Deterministic; shared by bench:policy's diff figures and the diff's equality test.
 */
import { random } from './synthetic.ts';

export const CHANGES = ['widen-ports', 'drop-rules', 'move-source', 'open-to-all'] as const;
export type Change = (typeof CHANGES)[number];

const RULE = /\{"action":"accept","src":\["([^"]+)"\],"dst":\["(tag:svc-\d+):([^"]+)"\]\}/g;

/** `text` with `count` of its rules changed as `change` says. */
export function changePolicy(text: string, change: Change, count: number, groups: string[], seed = 1): string {
  const rnd = random(seed);
  let seen = 0;
  const out = text.replace(RULE, (rule, src: string, dst: string, ports: string) => {
    if (seen++ >= count || (change !== 'open-to-all' && rnd() < 0.5)) return rule;
    switch (change) {
      case 'widen-ports':
        return rule.replace(`${dst}:${ports}`, `${dst}:*`);
      case 'drop-rules':
        return '{"action":"accept","src":["tag:nobody-owns-this"],"dst":["tag:nobody-owns-this:1"]}';
      case 'move-source':
        return rule.replace(`"src":["${src}"]`, `"src":["${groups[Math.floor(rnd() * groups.length)]}"]`);
      case 'open-to-all':
        return seen === 1 ? `${rule},{"action":"accept","src":["*"],"dst":["${dst}:22"]}` : rule;
    }
  });
  return out.replace('"tagOwners": {', '"tagOwners": {"tag:nobody-owns-this": [],');
}
