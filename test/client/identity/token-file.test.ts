import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_TOKEN_BYTES, unverifiedExpiry } from '../../../client/identity/jwt-shape.ts';
import { readTokenFile, TokenFile } from '../../../client/identity/token-file.ts';
import { authority, signToken } from '../../support/workload-tokens.ts';

const ca = authority('k1');
const token = (exp = Math.floor(Date.now() / 1000) + 600, sub = 'spiffe://example.org/w') =>
  signToken(ca, { sub, aud: 'trellis', exp });

describe('reading a workload token file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it('returns the token without surrounding whitespace, and its unverified expiry', async () => {
    const t = token(1_900_000_000);
    expect(await readTokenFile(file('t', `\n${t}\n`))).toBe(t);
    expect(unverifiedExpiry(t)).toBe(1_900_000_000_000);
  });

  it('says which file is missing, unreadable, empty or oversized', async () => {
    await expect(readTokenFile(join(dir, 'nope'))).rejects.toMatchObject({
      code: 'token.missing',
      message: `token file ${join(dir, 'nope')} does not exist`,
    });
    mkdirSync(join(dir, 'adir'));
    await expect(readTokenFile(join(dir, 'adir'))).rejects.toMatchObject({
      code: 'token.unreadable',
      message: expect.stringContaining(`cannot read token file ${join(dir, 'adir')}`),
    });
    await expect(readTokenFile(file('e', ' \n\t'))).rejects.toMatchObject({
      code: 'token.empty',
      message: expect.stringContaining('is empty'),
    });
    await expect(readTokenFile(file('big', 'a'.repeat(MAX_TOKEN_BYTES + 1)))).rejects.toMatchObject({
      code: 'token.too_large',
    });
  });

  it('accepts a file exactly at the size limit when it is a JWT', async () => {
    const t = token();
    const padded = t + ' '.repeat(MAX_TOKEN_BYTES - t.length);
    expect(await readTokenFile(file('edge', padded))).toBe(t);
  });

  it('refuses what is not a compact JWS, saying why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['just-a-secret', /3 dot-separated parts, found 1/],
      ['a.b', /found 2/],
      [`${token()}.extra`, /found 4/],
      ['a..c', /empty or not base64url/],
      ['a+b.c.d', /not base64url/],
      [
        `${Buffer.from('[1]').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`,
        /header is not a JSON object/,
      ],
      [`${Buffer.from('{}').toString('base64url')}.bm90LWpzb24.c2ln`, /claims is not a JSON object/],
    ];
    for (const [content, why] of cases) {
      const err = await readTokenFile(file('bad', content)).catch((e: unknown) => e);
      expect(err, content).toMatchObject({ code: 'token.not_jwt', message: expect.stringMatching(why) });
      expect((err as Error).message).toContain(join(dir, 'bad'));
    }
  });

  it("notices the kubelet swapping the volume's ..data symlink to a new token", async () => {
    // The kubelet's atomic writer: token -> ..data/token, ..data -> ..<timestamp>/ (swapped by rename).
    const generation = (n: number, t: string) => {
      mkdirSync(join(dir, `..gen${n}`));
      writeFileSync(join(dir, `..gen${n}`, 'token'), t);
      symlinkSync(`..gen${n}`, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    const first = token();
    generation(1, first);
    symlinkSync('..data/token', join(dir, 'token'));
    const source = new TokenFile(join(dir, 'token'));
    expect(await source.read()).toBe(first);
    let events = 0;
    const changed = new Promise<void>((resolve) => {
      const stop = source.watch(() => {
        events += 1;
        stop();
        resolve();
      });
    });
    const second = token(Math.floor(Date.now() / 1000) + 1200);
    generation(2, second);
    rmSync(join(dir, '..gen1'), { recursive: true });
    await changed;
    expect(events).toBe(1);
    expect(await source.read()).toBe(second);
  });

  it('watching a directory that does not exist is no error (the poll still reads)', () => {
    const stop = new TokenFile(join(dir, 'missing', 'token')).watch(() => undefined);
    stop();
  });
});
