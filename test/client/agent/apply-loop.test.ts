import { describe, expect, it } from 'vitest';
import { ApplyLoop } from '../../../client/agent/apply-loop.ts';

describe('the apply loop', () => {
  it('coalesces values that arrive during an apply into the newest one', async () => {
    const applied: number[] = [];
    let release!: () => void;
    const loop = new ApplyLoop<number>(
      async (v) => {
        applied.push(v);
        if (v === 1) await new Promise<void>((r) => (release = r));
      },
      () => {},
    );
    loop.submit(1);
    for (const v of [2, 3, 4]) loop.submit(v);
    release();
    await loop.idle();
    expect(applied).toEqual([1, 4]);
  });

  it('retries a failed apply unless something newer came', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const loop = new ApplyLoop<string>(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('nft busy');
      },
      (e) => errors.push(e),
      20,
    );
    loop.submit('map');
    await new Promise((r) => setTimeout(r, 80));
    await loop.idle();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('stops retrying when stopped', async () => {
    let calls = 0;
    const loop = new ApplyLoop<string>(
      async () => {
        calls += 1;
        throw new Error('down');
      },
      () => {},
      20,
    );
    loop.submit('map');
    await loop.idle();
    loop.stop();
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(1);
  });

  it('applies the latest value again on request, but never over a newer pending one', async () => {
    const applied: string[] = [];
    let release: (() => void) | undefined;
    const loop = new ApplyLoop<string>(
      async (v) => {
        applied.push(v);
        if (v === 'v2') await new Promise<void>((r) => (release = r));
      },
      () => {},
    );
    loop.again(); // nothing applied yet: nothing to repeat
    loop.submit('v1');
    await loop.idle();
    loop.again();
    await loop.idle();
    expect(applied).toEqual(['v1', 'v1']);
    loop.submit('v2');
    loop.submit('v3');
    loop.again(); // v3 is pending: it wins
    release!();
    await loop.idle();
    expect(applied).toEqual(['v1', 'v1', 'v2', 'v3']);
  });
});
