/**
 * The benchmark's segmented network: teams of tagged nodes. Each team reaches itself on every
 * port and the next team on 443, so a node sees its own team, the next and the previous one:
 * about 3 x TEAM_SIZE peers (149 with 50), the 100-200 the target names.
 */
export const TEAM_SIZE = 50;

export function teamCount(nodes: number): number {
  return Math.ceil(nodes / TEAM_SIZE);
}

export const teamOf = (index: number) => Math.floor(index / TEAM_SIZE);
export const teamTag = (team: number) => `tag:team-${team}`;

/** The policy text; `variant` changes every team's own rule, so every node's filter changes. */
export function segmentedPolicy(teams: number, variant: 'initial' | 'changed'): string {
  const ports = variant === 'initial' ? '*' : '22,80,443,8000-9000';
  const tagOwners: Record<string, string[]> = {};
  const acls: object[] = [];
  for (let t = 0; t < teams; t++) {
    tagOwners[teamTag(t)] = ['bench@example.com'];
    acls.push({ action: 'accept', src: [teamTag(t)], dst: [`${teamTag(t)}:${ports}`] });
    if (teams > 1) acls.push({ action: 'accept', src: [teamTag(t)], dst: [`${teamTag((t + 1) % teams)}:443`] });
  }
  return JSON.stringify({ tagOwners, acls }, null, 1);
}

/** Teams whose members see a node of team `t`. */
export function teamsThatSee(t: number, teams: number): number[] {
  return [...new Set([t, (t + 1) % teams, (t - 1 + teams) % teams])];
}
