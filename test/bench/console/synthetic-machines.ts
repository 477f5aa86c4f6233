import type { NodeView } from '../../../protocol/admin.ts';

const OS = ['linux', 'macOS', 'windows', 'iOS', 'android'];
const ROLES = ['web', 'db', 'cache', 'laptop', 'ci', 'build', 'edge', 'vpn'];

/** `count` machines as GET /api/v1/nodes answers them: mixed owners, tags, states and routes. */
export function syntheticMachines(count: number, now = Date.now()): NodeView[] {
  return Array.from({ length: count }, (_, i) => {
    const role = ROLES[i % ROLES.length]!;
    const tagged = i % 3 === 0;
    const routes = i % 50 === 0 ? [`10.${(i >> 8) & 255}.${i & 255}.0/24`] : i % 97 === 0 ? ['0.0.0.0/0', '::/0'] : [];
    return {
      id: `n${String(i).padStart(6, '0')}`,
      name: `${role}-${i}`,
      ...(!tagged && { user: `user${i % 700}@example.com` }),
      tags: tagged ? [`tag:${role}`] : [],
      ipv4: `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`,
      ipv6: `fd7a:115c:a1e0::${i.toString(16)}`,
      machineKey: `mkey:${i}`,
      wireguardKey: `wg:${i}`,
      endpoints: [`198.51.100.${i % 250}:41641`],
      advertisedRoutes: routes,
      approvedRoutes: i % 100 === 0 ? routes : [],
      ephemeral: i % 11 === 0,
      online: i % 4 !== 0,
      os: OS[i % OS.length]!,
      lastSeen: new Date(now - (i % 1000) * 60_000).toISOString(),
      expiresAt: new Date(now + ((i % 200) - 10) * 86_400_000).toISOString(),
      createdAt: new Date(now - 90 * 86_400_000).toISOString(),
    };
  });
}
