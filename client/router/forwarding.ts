import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { run, type Runner } from '../system/run.ts';

/**
 * The kernel's IP forwarding switches (IPv4 and IPv6), shared by whatever on this node needs
 * forwarding (a subnet router, a gateway into the mesh, an exit node). Each of them holds the
 * switches under its own name; the first holder turns on what was off, remembering the value it
 * found, and the last one to let go puts back exactly those values. A switch that was already
 * on is never turned off: we undo what we set, nothing more.
 *
 * The record lives in a file (the agent's state directory), so an agent that restarts, or a
 * `trellis down` after a crash, still knows what the machine had before.
 */
export const FORWARDING_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'] as const;
type Sysctl = (typeof FORWARDING_SYSCTLS)[number];

const Record_ = z.object({
  /** Who holds forwarding on: `subnet-router`, `gateway`, `exit-node`. */
  holders: z.array(z.string()),
  /** The value each switch had before we turned it on; a switch that was on is not listed. */
  previous: z.record(z.string(), z.string()),
});
type ForwardingRecord = z.infer<typeof Record_>;

export class Forwarding {
  constructor(
    /** Where the record is kept (e.g. `<state dir>/forwarding.json`). */
    private readonly file: string,
    private readonly netns: string | undefined = undefined,
    private readonly runner: Runner = run,
  ) {}

  /** Forwarding on for `holder` (idempotent). */
  async hold(holder: string): Promise<void> {
    const record = this.read();
    for (const key of FORWARDING_SYSCTLS) {
      const value = await this.get(key);
      if (value === '1') continue;
      // A value found while we already hold the switch was set by someone else since: keep the first.
      if (!(key in record.previous)) record.previous[key] = value;
      await this.set(key, '1');
    }
    if (!record.holders.includes(holder)) record.holders.push(holder);
    this.write(record);
  }

  /** `holder` no longer needs forwarding; the last holder puts back what was there before. */
  async release(holder: string): Promise<void> {
    const record = this.read();
    record.holders = record.holders.filter((h) => h !== holder);
    if (record.holders.length > 0) return this.write(record);
    for (const [key, value] of Object.entries(record.previous)) await this.set(key as Sysctl, value);
    rmSync(this.file, { force: true });
  }

  /** Who holds forwarding on now. */
  holders(): string[] {
    return this.read().holders;
  }

  private async get(key: Sysctl): Promise<string> {
    return (await this.runner('sysctl', ['-n', key], { netns: this.netns })).stdout.trim();
  }

  private async set(key: Sysctl, value: string): Promise<void> {
    if (!/^\d+$/.test(value)) throw new TypeError(`refusing to write ${JSON.stringify(value)} to ${key}`);
    await this.runner('sysctl', ['-q', '-w', `${key}=${value}`], { netns: this.netns });
  }

  private read(): ForwardingRecord {
    const empty = { holders: [], previous: {} };
    if (!existsSync(this.file)) return empty;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return empty; // a record we cannot read says nothing we could restore: start a new one
    }
    const parsed = Record_.safeParse(json);
    return parsed.success ? parsed.data : empty;
  }

  private write(record: ForwardingRecord): void {
    writeFileSync(`${this.file}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }
}
