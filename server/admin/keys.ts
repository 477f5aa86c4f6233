import { z } from 'zod';
import { invalid, notFound } from '../errors.ts';
import { issueSecret } from '../identity/secrets.ts';
import { API_SCOPES, type ApiKeyRecord, type PreAuthKeyRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

export const CreatePreAuthKey = z.strictObject({
  /** Owner's email; nodes joined with the key belong to that user unless it has tags. */
  user: z.string().min(3).max(320).optional(),
  reusable: z.boolean().default(false),
  ephemeral: z.boolean().default(false),
  tags: z
    .array(z.string().regex(/^tag:[A-Za-z][A-Za-z0-9-]*$/, 'must be tag:<name>'))
    .max(64)
    .default([]),
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 24 * 3600)
    .default(3600),
  description: z.string().max(200).default(''),
});
export type CreatePreAuthKey = z.infer<typeof CreatePreAuthKey>;

export const CreateApiKey = z.strictObject({
  scopes: z.array(z.enum(API_SCOPES)).min(1),
  /** Omit for a key that never expires. */
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(10 * 365 * 24 * 3600)
    .optional(),
  description: z.string().max(200).default(''),
});
export type CreateApiKey = z.infer<typeof CreateApiKey>;

/** Issues and revokes pre-auth keys and API keys. The secret is returned once, never stored. */
export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async createPreAuthKey(input: CreatePreAuthKey): Promise<{ key: PreAuthKeyRecord; secret: string }> {
    if (!input.user && input.tags.length === 0) {
      throw invalid('preauth_key.no_owner', 'a pre-auth key needs a user or at least one tag', 'body.user');
    }
    // Users are stored with lower-case emails (UserService.create).
    const user = input.user ? await this.store.users.getByEmail(input.user.toLowerCase()) : undefined;
    if (input.user && !user) throw notFound('user.not_found', `no user with email ${input.user}`);
    const { id, secret, secretHash } = issueSecret('auth');
    const now = this.now();
    const key: PreAuthKeyRecord = {
      id,
      secretHash,
      userId: user?.id,
      reusable: input.reusable,
      ephemeral: input.ephemeral,
      tags: input.tags,
      usedCount: 0,
      expiresAt: now + input.expiresInSeconds * 1000,
      description: input.description,
      createdAt: now,
    };
    await this.store.preAuthKeys.create(key);
    return { key, secret };
  }

  async createApiKey(input: CreateApiKey): Promise<{ key: ApiKeyRecord; secret: string }> {
    const { id, secret, secretHash } = issueSecret('api');
    const now = this.now();
    const key: ApiKeyRecord = {
      id,
      secretHash,
      scopes: [...new Set(input.scopes)],
      description: input.description,
      expiresAt: input.expiresInSeconds === undefined ? undefined : now + input.expiresInSeconds * 1000,
      createdAt: now,
    };
    await this.store.apiKeys.create(key);
    return { key, secret };
  }

  async revokePreAuthKey(id: string): Promise<void> {
    if (!(await this.store.preAuthKeys.revoke(id, this.now()))) {
      throw notFound('preauth_key.not_found', `no active pre-auth key ${id}`);
    }
  }

  async revokeApiKey(id: string): Promise<void> {
    if (!(await this.store.apiKeys.revoke(id, this.now()))) {
      throw notFound('api_key.not_found', `no active API key ${id}`);
    }
  }
}
