/**
 * What the store keeps. Times are unix milliseconds; absent means none.
 * The database is the source of truth; memory is a cache rebuilt from it at start.
 */
export interface UserRecord {
  id: string;
  /** Identity provider issuer + subject, or `local:` for admin-created users. */
  subject: string;
  email: string;
  displayName: string;
  /** Groups claim from the identity provider, as of the last login. */
  groups: string[];
  createdAt: number;
}

export interface NodeRecord {
  id: string;
  name: string;
  machineKey: string;
  wireguardKey: string;
  ipv4: string;
  ipv6: string;
  /** Owning user; absent for tagged nodes. */
  userId?: string;
  tags: string[];
  endpoints: string[];
  advertisedRoutes: string[];
  approvedRoutes: string[];
  ephemeral: boolean;
  os?: string;
  lastSeen?: number;
  expiresAt?: number;
  createdAt: number;
}

export interface PreAuthKeyRecord {
  id: string;
  /** SHA-256 of the secret part, hex. */
  secretHash: string;
  userId?: string;
  reusable: boolean;
  ephemeral: boolean;
  tags: string[];
  usedCount: number;
  expiresAt: number;
  revokedAt?: number;
  description: string;
  createdAt: number;
}

export const API_SCOPES = ['read', 'nodes', 'users', 'keys', 'policy', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiKeyRecord {
  id: string;
  secretHash: string;
  scopes: ApiScope[];
  description: string;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
  createdAt: number;
}

export interface PolicyRecord {
  version: number;
  text: string;
  author: string;
  /** True for the allow-all policy the server writes on first start. */
  starter: boolean;
  createdAt: number;
}
