import { codeCatalog, type CodeOf } from '../protocol/coded-error.ts';

/**
 * Every code of the agent's and the `trellis` CLI's own errors, by area (the server's answers
 * keep the server's codes; usage errors have the cli.* codes of cli-flags/). docs/errors.md says
 * what each means and what to do; a test keeps the two in step.
 */
export const CLIENT_CODES = codeCatalog({
  agent: [
    'agent.state_unreadable', // a file in the state directory is missing fields or not JSON
    'agent.not_logged_in', // the node has no identity yet: `trellis up --auth-key ...` first
    'agent.bad_request', // a local API request failed validation
    'agent.not_found', // no node owns that address / no peer by that name
    'agent.join_failed', // the server refused the credential or could not be reached
    'agent.unavailable', // the agent is not running or its socket refused us
    'agent.internal', // the agent failed on a local API request (its log says why)
  ],
  server: [
    'server.unreachable', // no answer from the control server (network, DNS, TLS)
    'server.bad_answer', // the control server answered with something that is not a Trellis answer
  ],
  login: [
    'login.cancelled', // the sign-in was cancelled before it completed
    'login.failed', // the sign-in ended without success and the server said no more
  ],
  wireguard: [
    'wireguard.invalid_key', // not a 32-byte key in base64 or hex
    'wireguard.invalid_config', // a peer or device setting we refuse to send
    'wireguard.uapi_unavailable', // cannot connect to the UAPI socket
    'wireguard.uapi_protocol', // the device answered something we cannot parse
    'wireguard.uapi_errno', // the device refused a request (nonzero errno)
    'wireguard.start_failed', // wireguard-go exited or never opened its socket
    'wireguard.kernel_unavailable', // this kernel cannot create WireGuard interfaces
    'wireguard.not_running', // the device was stopped or has crashed
    'wireguard.interface_in_use', // the interface name's UAPI socket is served from another network namespace
  ],
  token: [
    'token.missing', // the token file does not exist
    'token.unreadable', // it exists but cannot be read (permissions, a directory, ...)
    'token.empty', // the file holds nothing but whitespace
    'token.too_large', // over the size any server accepts
    'token.not_jwt', // not a compact JWS (header.payload.signature, base64url)
  ],
  workload_api: [
    'workload_api.unavailable', // nothing answers on the Workload API socket
    'workload_api.refused', // the Workload API answered with an error (no identity, bad audience, ...)
    'workload_api.bad_answer', // an answer without a usable JWT-SVID
  ],
  netcheck: [
    'netcheck.server_unreachable', // no HTTP answer from the control server in time
    'netcheck.bad_answer', // the server answered, but not with relay settings (too old, or not Trellis)
  ],
  relay_transport: [
    'relay_transport.bind_failed', // the bridge's local UDP socket could not be opened
    'relay_transport.bad_url', // the server URL and the map's wsPath make no WebSocket URL
  ],
  system: [
    'system.command_not_found', // the program is not installed
    'system.command_failed', // it ran and exited non-zero
    'system.command_timeout', // it did not finish in time and was killed
  ],
  kube_proxy: [
    'kube_proxy.no_capability', // the caller holds no trellis.dev/cap/kubernetes capability on this proxy
    'kube_proxy.unknown_caller', // no node in the proxy's map owns the connection's source address
    'kube_proxy.not_a_peer', // the source is this node itself, or arrives through a peer's subnet route
    'kube_proxy.agent_unavailable', // the local agent could not say who the caller is
    'kube_proxy.upstream_unreachable', // the Kubernetes API server could not be reached
    'kube_proxy.bad_kubeconfig', // the kubeconfig or in-cluster files give no usable server or credential
    'kube_proxy.no_mesh_address', // the local agent has no mesh address to listen on (not up yet)
  ],
  kubeconfig: [
    'kubeconfig.unreadable', // the kubeconfig file cannot be read or is not a kubeconfig
    'kubeconfig.unknown_name', // no peer or service of that name in this node's map
    'kubeconfig.unknown_context', // --from-context names no context (with a cluster and user) in the file
    'kubeconfig.no_route', // no peer in this node's map routes the --server address
  ],
  firewall: ['firewall.invalid_rule'], // a filter rule the agent refuses to enforce
  routes: [
    'routes.captures_lan', // an offered subnet route would take (part of) this machine's LAN into the tunnel
    'routes.captures_default_route', // it holds the default gateway: everything would go into the tunnel
    'routes.captures_server', // it holds the control server's address, which must stay outside the tunnel
  ],
  netconf: [
    'netconf.invalid_config', // an address, range or name we refuse to configure
    'netconf.invalid_prefix', // a prefix that does not parse (a route the kernel listed, a configured range)
    'netconf.route_conflict', // another route already claims a mesh prefix
  ],
});

export type ClientCode<Area extends keyof typeof CLIENT_CODES = keyof typeof CLIENT_CODES> = CodeOf<
  typeof CLIENT_CODES,
  Area
>;
