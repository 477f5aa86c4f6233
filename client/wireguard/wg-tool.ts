import { run, type Runner } from '../system/run.ts';
import { WireGuardError } from './errors.ts';
import { isBase64Key, publicKeyOf } from './keys.ts';
import { formatSetRequest, type DeviceState, type PeerState, type SetRequest } from './uapi-format.ts';
import { isTimeMs } from '../../protocol/time.ts';

/**
 * The same requests as the UAPI socket, carried by the `wg` tool: how kernel WireGuard devices
 * are configured (they have no socket), and it works on wireguard-go's devices too. Keys go
 * through stdin (`/dev/stdin`), never through the command line where `ps` would show them.
 */
interface WgCommand {
  args: string[];
  input?: string;
}

/** The `wg set` invocations for one request (one per secret key, then one for the rest). */
export function wgSetCommands(iface: string, request: SetRequest): WgCommand[] {
  formatSetRequest(request); // validates every value the same way as for the socket
  if (request.device?.replacePeers) throw new TypeError('replacePeers is not available through `wg set`');
  const commands: WgCommand[] = [];
  const d = request.device ?? {};
  if (d.privateKey !== undefined)
    commands.push({ args: ['set', iface, 'private-key', '/dev/stdin'], input: `${d.privateKey}\n` });
  const rest = ['set', iface];
  if (d.listenPort !== undefined) rest.push('listen-port', String(d.listenPort));
  if (d.fwmark !== undefined) rest.push('fwmark', d.fwmark === 0 ? 'off' : String(d.fwmark));
  for (const p of request.peers ?? []) {
    rest.push('peer', p.publicKey);
    if (p.remove) {
      rest.push('remove');
      continue;
    }
    // `wg set` has no update-only: the peer is created if missing (callers diff first).
    if (p.presharedKey === null) rest.push('preshared-key', '/dev/null');
    else if (p.presharedKey !== undefined) {
      commands.push({
        args: ['set', iface, 'peer', p.publicKey, 'preshared-key', '/dev/stdin'],
        input: `${p.presharedKey}\n`,
      });
    }
    if (p.endpoint !== undefined) rest.push('endpoint', p.endpoint);
    if (p.persistentKeepalive !== undefined)
      rest.push('persistent-keepalive', p.persistentKeepalive === 0 ? 'off' : String(p.persistentKeepalive));
    if (p.allowedIPs !== undefined) rest.push('allowed-ips', p.allowedIPs.join(','));
  }
  if (rest.length > 2) commands.push({ args: rest });
  return commands;
}

/** Parses `wg show <iface> dump`: a device line, then one tab-separated line per peer. */
export function parseWgDump(text: string): DeviceState {
  const lines = text.split('\n').filter((l) => l !== '');
  const fields = (line: string, n: number) => {
    const f = line.split('\t');
    if (f.length !== n) throw dumpError(`expected ${n} fields, got ${f.length}`);
    return f;
  };
  const [privateKey, , listenPort, fwmark] = fields(lines[0] ?? '', 4) as [string, string, string, string];
  const state: DeviceState = { listenPort: count(listenPort), fwmark: fwmark === 'off' ? 0 : count(fwmark), peers: [] };
  if (privateKey !== '(none)') {
    if (!isBase64Key(privateKey)) throw dumpError('private key is not a key');
    state.publicKey = publicKeyOf(privateKey);
  }
  for (const line of lines.slice(1)) {
    const [pub, psk, endpoint, allowed, handshake, rx, tx, keepalive] = fields(line, 8) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (!isBase64Key(pub)) throw dumpError('peer public key is not a key');
    const peer: PeerState = {
      publicKey: pub,
      hasPresharedKey: psk !== '(none)',
      rxBytes: count(rx),
      txBytes: count(tx),
      persistentKeepalive: keepalive === 'off' ? 0 : count(keepalive),
      allowedIPs: allowed === '(none)' ? [] : allowed.split(','),
    };
    if (endpoint !== '(none)') peer.endpoint = endpoint;
    const at = count(handshake) * 1000;
    if (at > 0 && isTimeMs(at)) peer.lastHandshake = new Date(at);
    state.peers.push(peer);
  }
  return state;
}

function count(text: string): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw dumpError(`${JSON.stringify(text.slice(0, 40))} is not a count`);
  return n;
}

function dumpError(detail: string): WireGuardError {
  return new WireGuardError('wireguard.uapi_protocol', `unexpected \`wg show dump\` output: ${detail}`);
}

/** A ConfigChannel over the `wg` tool for one interface. */
export class WgTool {
  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async get(): Promise<DeviceState> {
    return parseWgDump((await this.runner('wg', ['show', this.iface, 'dump'], { netns: this.netns })).stdout);
  }

  async set(request: SetRequest): Promise<void> {
    for (const c of wgSetCommands(this.iface, request)) {
      if (c.input === undefined) {
        await this.runner('wg', c.args, { netns: this.netns });
      } else {
        // Node hands children a socket as stdin, which wg cannot fopen() as /dev/stdin; `cat |`
        // turns it into a pipe. The script is constant; arguments travel as "$@", unparsed.
        await this.runner('sh', ['-c', 'cat | exec wg "$@"', 'sh', ...c.args], { netns: this.netns, input: c.input });
      }
    }
  }
}
