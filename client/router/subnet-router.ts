import { deleteNftTable, loadNftScript } from '../firewall/nft.ts';
import { run, type Runner } from '../system/run.ts';
import type { Forwarding } from './forwarding.ts';
import { ROUTER_TABLE, routerRuleset, type RouterRules } from './ruleset.ts';

/**
 * Makes this node forward between the mesh and what it routes, or stop doing so. `apply` with
 * rules loads the router's table first and only then turns forwarding on, so there is never a
 * moment of forwarding without the table's limits; `apply(undefined)` (nothing to route) and
 * `remove` turn forwarding back to what it was first, then delete the table. Both are
 * idempotent: the engine calls `apply` with every map.
 */
const HOLDER = 'subnet-router';

export class SubnetRouter {
  /** The script in force, `absent` once removed, undefined when not known (a new agent). */
  private applied: string | undefined;

  constructor(
    private readonly forwarding: Forwarding,
    private readonly netns: string | undefined = undefined,
    private readonly runner: Runner = run,
  ) {}

  async apply(rules: RouterRules | undefined): Promise<void> {
    if (!rules) return this.remove();
    const script = routerRuleset(rules);
    if (script !== this.applied) {
      await loadNftScript(script, this.netns, this.runner);
      this.applied = script;
    }
    await this.forwarding.hold(HOLDER);
  }

  /** Undoes what apply did (also after a restart: the forwarding record is on disk, the table in the kernel). */
  async remove(): Promise<void> {
    if (this.forwarding.holders().includes(HOLDER)) await this.forwarding.release(HOLDER);
    if (this.applied === 'absent') return;
    await deleteNftTable('inet', ROUTER_TABLE, this.netns, this.runner);
    this.applied = 'absent';
  }
}
