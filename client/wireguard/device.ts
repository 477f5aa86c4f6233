import type { PeerChanges, PeerConfig } from './peer-diff.ts';
import type { DeviceState } from './uapi-format.ts';

/**
 * One WireGuard interface, whatever runs it (wireguard-go here; the kernel module elsewhere).
 * The agent's engine derives a configuration from the network map and hands it over; the
 * device keeps the sessions of peers that did not change.
 */
export interface DeviceConfig {
  privateKey: string;
  /** UDP port; absent = let the device choose. */
  listenPort?: number;
  fwmark?: number;
}

export interface WireGuardDevice {
  readonly iface: string;
  /** Network namespace the interface lives in; absent = the current one. */
  readonly netns: string | undefined;
  configure(config: DeviceConfig): Promise<void>;
  /** Makes the device's peers exactly `desired`, sending only what changed. */
  applyPeers(desired: readonly PeerConfig[]): Promise<PeerChanges>;
  state(): Promise<DeviceState>;
  /** Makes every peer pick its source address anew (after the machine's addresses changed). */
  rebind(): Promise<void>;
  /** Points one configured peer at `endpoint` now (a path trial); unknown peers are ignored. */
  setEndpoint(publicKey: string, endpoint: string): Promise<void>;
  /**
   * Starts a handshake with these peers (default: all with an endpoint) now, instead of
   * waiting for traffic or timers. Needs the link up. Used after the device lost its sessions
   * (a restart): peers still hold the old session and would otherwise notice only after ~15 s.
   */
  initiateHandshakes(publicKeys?: readonly string[]): Promise<void>;
  /**
   * Like initiateHandshakes, for the peers among these (default: all) that have an endpoint and
   * never completed a handshake, after their endpoint changed: WireGuard sends at most one
   * initiation per peer every 5 s, so one just lost on an abandoned path would hold the next back
   * that long. Such a peer is removed and added again (it has no session to lose) and starts at once.
   */
  restartHandshakes(publicKeys?: readonly string[]): Promise<void>;
  /**
   * Drops these peers' sessions and handshakes afresh with each that has an endpoint, now. For
   * peers whose packets go through a relay that restarted: it forwards only sessions it saw
   * being made, so the old ones would stall until WireGuard gave up on them (~15 s).
   */
  renewSessions(publicKeys: readonly string[]): Promise<void>;
  /** Stops the device and removes its interface. */
  close(): Promise<void>;
}
