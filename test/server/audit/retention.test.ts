import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../support/server.ts';

const DAY = 24 * 3600 * 1000;

describe('audit retention (audit.retentionDays)', () => {
  it('deletes events older than the retention when the server starts, and records that it did', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-audit-'));
    const first = await startTestServer({}, dir);
    const now = Date.now();
    for (const [age, message] of [
      [40, 'forty days ago'],
      [31, 'a month ago'],
      [1, 'yesterday'],
    ] as const) {
      await first.server.store.audit.append({
        at: now - age * DAY,
        kind: 'admin',
        outcome: 'success',
        actor: 'test',
        message,
      });
    }
    await first.stop();

    const second = await startTestServer({ audit: { retentionDays: 30 } }, dir);
    try {
      const events = await second.server.store.audit.list({ limit: 100 });
      const messages = events.map((e) => e.message);
      expect(messages).toContain('yesterday');
      expect(messages).not.toContain('a month ago');
      expect(messages).not.toContain('forty days ago');
      expect(events.find((e) => e.code === 'audit.prune')).toMatchObject({
        kind: 'admin',
        outcome: 'success',
        actor: 'system',
        message: 'deleted 2 audit events older than 30 days (audit.retentionDays)',
      });
    } finally {
      await second.stop();
    }
  });

  it("keeps everything by default (retentionDays 0): deleting history is the operator's choice", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-audit-'));
    const first = await startTestServer({}, dir);
    await first.server.store.audit.append({
      at: Date.now() - 3650 * DAY,
      kind: 'admin',
      outcome: 'success',
      actor: 'test',
      message: 'ten years ago',
    });
    await first.stop();
    const second = await startTestServer({}, dir);
    try {
      expect((await second.server.store.audit.list({ limit: 100 })).map((e) => e.message)).toContain('ten years ago');
    } finally {
      await second.stop();
    }
  });
});
