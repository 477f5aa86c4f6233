/**
 * A diff of access as Markdown, for a pull request comment: who gains and who loses what, one
 * table row per (source, destination, ports, protocols), each node named with its owner or tags.
 */
import type { AccessChange, AccessDiff } from './diff.ts';
import type { PolicyNode } from './node.ts';

interface DiffMarkdownOptions {
  /** What the change was compared with, as a phrase: "the live policy (version 7)". */
  baseline?: string;
  /** The topology the diff was computed on, to say who each node is. */
  nodes?: readonly PolicyNode[];
  /** Rows per table before the rest is only counted (a GitHub comment holds 65,536 characters). */
  maxRows?: number;
}

const DEFAULT_MAX_ROWS = 100;

export function formatDiffMarkdown(diff: AccessDiff, options: DiffMarkdownOptions = {}): string {
  const byName = new Map((options.nodes ?? []).map((n) => [n.name, n]));
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const { granted, revoked } = diff;
  const heading =
    granted.length + revoked.length === 0
      ? '### Access: no change'
      : `### Access: ${granted.length} gained, ${revoked.length} lost`;
  const context = [
    options.baseline ? `Compared with ${escape(options.baseline)}` : 'Compared with the old policy',
    options.nodes ? `on ${count(options.nodes.length, 'node')}.` : '.',
  ].join(options.nodes ? ' ' : '');
  const out = [heading, '', context];
  if (granted.length + revoked.length === 0) {
    out.push('', 'Every node reaches exactly what it reached before.');
  }
  const section = (title: string, changes: AccessChange[]) => {
    if (changes.length === 0) return;
    out.push(
      '',
      `#### ${title} (${changes.length})`,
      '',
      '| Source | Destination | Ports | Protocols |',
      '| --- | --- | --- | --- |',
    );
    for (const c of changes.slice(0, maxRows)) {
      out.push(`| ${who(c.src, byName)} | ${who(c.dst, byName)} | ${escape(c.ports)} | ${escape(c.protos)} |`);
    }
    if (changes.length > maxRows) {
      out.push('', `…and ${changes.length - maxRows} more; \`trellis policy diff --format json\` lists them all.`);
    }
  };
  section('Gained', granted);
  section('Lost', revoked);
  return `${out.join('\n')}\n`;
}

/** A node's name in bold, then its owner or its tags: who it is to the policy. */
function who(name: string, nodes: Map<string, PolicyNode>): string {
  const n = nodes.get(name);
  const identity = n === undefined ? undefined : n.tags.length > 0 ? n.tags.join(', ') : n.user;
  return `**${escape(name)}**${identity ? ` (${escape(identity)})` : ''}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Text as itself inside a Markdown table cell (inline content: no line starts to worry about).
 * Node names and emails come from the network, so nothing in them may open a link, code, an
 * HTML tag or a new cell, emphasise, or mention someone.
 */
function escape(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/@/g, '&#64;');
}
