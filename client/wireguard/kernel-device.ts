import { CommandError } from '../system/errors.ts';
import { run, type Runner } from '../system/run.ts';
import { WireGuardError } from './errors.ts';
import { DeviceReconciler } from './reconciler.ts';
import { ReconciledDevice } from './reconciled-device.ts';
import { WgTool } from './wg-tool.ts';

/**
 * A WireGuardDevice on an interface the kernel module runs (`ip link add type wireguard`),
 * configured with the `wg` tool. Nothing to supervise: the kernel keeps it running.
 * `attach` drives an interface someone else created (kernel or userspace) and leaves it in
 * place on close.
 */
interface KernelDeviceOptions {
  iface: string;
  netns?: string;
  runner?: Runner;
}

export class KernelWireGuardDevice extends ReconciledDevice {
  readonly iface: string;
  readonly netns: string | undefined;
  protected readonly reconciler: DeviceReconciler;
  private readonly runner: Runner;

  private constructor(
    options: KernelDeviceOptions,
    private readonly owned: boolean,
  ) {
    super();
    this.iface = options.iface;
    this.netns = options.netns;
    this.runner = options.runner ?? run;
    this.reconciler = new DeviceReconciler(new WgTool(options.iface, options.netns, this.runner));
  }

  static async create(options: KernelDeviceOptions): Promise<KernelWireGuardDevice> {
    const runner = options.runner ?? run;
    try {
      await runner('ip', ['link', 'add', options.iface, 'type', 'wireguard'], { netns: options.netns });
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      if (/Unknown device type|not supported/i.test(err.stderr)) {
        throw new WireGuardError(
          'wireguard.kernel_unavailable',
          `this kernel has no WireGuard module (${err.stderr.trim()})`,
          { cause: err },
        );
      }
      // Left by a previous agent: the kernel kept its peers and sessions, so take it over.
      if (!/File exists/.test(err.stderr) || (await linkKind(options.iface, options.netns, runner)) !== 'wireguard') {
        throw new WireGuardError(
          'wireguard.start_failed',
          `cannot create WireGuard interface ${options.iface}: ${err.stderr.trim()}`,
          { cause: err },
        );
      }
    }
    return new KernelWireGuardDevice(options, true);
  }

  static attach(options: KernelDeviceOptions): KernelWireGuardDevice {
    return new KernelWireGuardDevice(options, false);
  }

  close(): Promise<void> {
    return this.reconciler.serial(async () => {
      if (this.owned) await this.runner('ip', ['link', 'del', this.iface], { netns: this.netns });
    });
  }
}

async function linkKind(iface: string, netns: string | undefined, runner: Runner): Promise<string | undefined> {
  try {
    const { stdout } = await runner('ip', ['-details', '-json', 'link', 'show', 'dev', iface], { netns });
    const [link] = JSON.parse(stdout) as Array<{ linkinfo?: { info_kind?: string } }>;
    return link?.linkinfo?.info_kind;
  } catch {
    return undefined;
  }
}
