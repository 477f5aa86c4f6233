import { z } from 'zod';
import { FilterRule } from '../../protocol/filter.ts';
import { run, type Runner } from '../system/run.ts';
import { compileFilter, DEFAULT_TABLE } from './compile.ts';
import { FirewallError } from './errors.ts';
import { deleteNftTable, listNftTable, loadNftScript } from './nft.ts';

/**
 * Enforces the node's inbound filter on the mesh interface with nftables. `apply` validates
 * the rules, compiles them (compile.ts) and loads the result in one `nft -f` transaction; if
 * anything is wrong, the previous ruleset stays in force (fail closed, never half-applied).
 */
interface FirewallOptions {
  iface: string;
  netns?: string;
  table?: string;
  /** See CompileOptions.probePort. */
  probePort?: number;
  /** See CompileOptions.localOnly. */
  localOnly?: readonly string[];
}

const Rules = z.array(FilterRule);

export class NftFirewall {
  readonly table: string;

  constructor(
    private readonly options: FirewallOptions,
    private readonly runner: Runner = run,
  ) {
    this.table = options.table ?? DEFAULT_TABLE;
  }

  /** `replicaAddresses`: see CompileOptions (the mesh services this node serves right now). */
  async apply(rules: readonly FilterRule[], replicaAddresses: readonly string[] = []): Promise<void> {
    const parsed = Rules.safeParse(rules);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = `rules${issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')}`;
      throw new FirewallError(issue.message, where);
    }
    const script = compileFilter(parsed.data, {
      iface: this.options.iface,
      table: this.table,
      ...(this.options.probePort !== undefined && { probePort: this.options.probePort }),
      ...(this.options.localOnly && { localOnly: this.options.localOnly }),
      ...(replicaAddresses.length > 0 && { replicaAddresses }),
    });
    await loadNftScript(script, this.options.netns, this.runner);
  }

  /** Removes the table: the mesh interface is then unfiltered (used by `down`). */
  async clear(): Promise<void> {
    await deleteNftTable('inet', this.table, this.options.netns, this.runner);
  }

  /** The ruleset as nft prints it, or undefined when none is installed. */
  current(): Promise<string | undefined> {
    return listNftTable('inet', this.table, this.options.netns, this.runner);
  }
}
