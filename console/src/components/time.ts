/** Times as people read them: "3 min ago", "in 2 days", and the exact time for a tooltip. */
export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const [n, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), ' min']
        : abs < 86_400_000
          ? [Math.round(abs / 3_600_000), ' h']
          : [Math.round(abs / 86_400_000), ' d'];
  if (abs < 5_000) return 'just now';
  return ms < 0 ? `${n}${unit} ago` : `in ${n}${unit}`;
}

export function exactTime(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}
