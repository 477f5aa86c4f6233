/**
 * Turns whatever hostname an agent reports into a DNS label: lowercase letters, digits and
 * hyphens, 1 to 63 characters, no leading or trailing hyphen. The store makes it unique.
 */
export function dnsLabel(hostname: string): string {
  const label = hostname
    .toLowerCase()
    .split('.')[0]!
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 55) // room for a "-NNN" suffix
    .replace(/-+$/, '');
  return label || 'node';
}

export function isDnsLabel(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name);
}
