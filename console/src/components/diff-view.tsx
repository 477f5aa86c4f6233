import { lineDiff } from './line-diff.ts';

/** A unified view of a text change: removed lines marked −, added +, unchanged context kept short. */
export function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const lines = lineDiff(before, after);
  const changed = lines.map((l) => l.kind !== 'same');
  const near = (i: number) => changed.slice(Math.max(0, i - 2), i + 3).some(Boolean);
  if (!changed.some(Boolean)) return <p>No change in the text.</p>;
  return (
    <pre class="diff" aria-label={label} tabIndex={0}>
      {lines.map((l, i) =>
        l.kind === 'same' ? (
          near(i) ? (
            <span key={i}>{`  ${l.text}\n`}</span>
          ) : i > 0 && near(i - 1) ? (
            <span key={i} class="gap">
              {'  …\n'}
            </span>
          ) : null
        ) : (
          <span key={i} class={l.kind}>
            {l.kind === 'added' ? `+ ${l.text}\n` : `- ${l.text}\n`}
          </span>
        ),
      )}
    </pre>
  );
}
