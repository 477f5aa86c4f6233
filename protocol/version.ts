/**
 * The protocol between agent and server: the join, the machine endpoints and the map stream.
 * A change either side must know of gets a new version and a dated line here. New fields are
 * optional, so a server keeps speaking every version from MIN_SUPPORTED_PROTOCOL_VERSION up:
 * an older agent ignores fields and messages it does not know (a path trial it cannot read is
 * skipped). The server refuses agents outside that range and says which versions it speaks.
 */
export const PROTOCOL_HISTORY: ReadonlyArray<{ version: number; date: string; change: string }> = [
  {
    version: 1,
    date: '2026-11-22',
    change: 'join with pre-auth keys, machine-key request proofs, map stream with full maps and deltas',
  },
  { version: 2, date: '2026-11-22', change: 'join credentials spiffe-jwt, kubernetes and oidc (sign-in sessions)' },
  {
    version: 3,
    date: '2026-11-22',
    change: "map: the relay's WireGuard key and endpoint (relay.wireguardKey, relay.endpoint), Peer.observedEndpoint",
  },
  { version: 4, date: '2026-11-22', change: 'map: relay.stunPort; GET /api/v1/relay/info' },
  {
    version: 5,
    date: '2026-11-22',
    change: 'map stream: path-trial (server) and path-request (agent) messages; the UDP path probe',
  },
  { version: 6, date: '2026-11-22', change: 'map: relay.instance names each run of the relay' },
  { version: 7, date: '2026-11-22', change: "map: meshRanges, the mesh's address ranges" },
  {
    version: 8,
    date: '2026-12-01',
    change: "map: protocolVersion, the server's; the join refuses versions the server does not speak",
  },
  {
    version: 9,
    date: '2026-12-02',
    change:
      'gateways: route-health reports on the map stream; Peer.primaryRoutes and exitRoutes (allowedIPs carry only primary routes); SelfNode.routes and routePriority; routePriority in register and update',
  },
  {
    version: 10,
    date: '2026-12-02',
    change: 'POST /api/v1/machine/audit: a node reports audit events of its services (the Kubernetes proxy)',
  },
  {
    version: 11,
    date: '2026-12-02',
    change:
      "map: app grants make their two sides peers; a capGrant's dsts are host prefixes (100.64.0.1/32) and * is narrowed to the node's own addresses",
  },
  {
    version: 12,
    date: '2026-12-02',
    change: "the mesh CA: POST /api/v1/machine/certificate for a node's own names, GET /api/v1/machine/authorities",
  },
  {
    version: 13,
    date: '2026-12-02',
    change: 'map: dns.services, the names and addresses of mesh services (HA replicas behind one name)',
  },
  {
    version: 14,
    date: '2026-12-02',
    change: "map stream: paths reports (the agent's peers by path: direct, relay, none); the admin node API's paths",
  },
  {
    version: 15,
    date: '2026-12-02',
    change:
      'map stream: changeSeq on full maps and deltas; a reconnect names it (?since=V&seq=S) and another replica may answer with a resume delta (which may carry dns, relay, meshRanges and protocolVersion) instead of a full map; the seq message',
  },
];

export const PROTOCOL_VERSION = 15;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

export const speaksProtocol = (version: number): boolean =>
  Number.isInteger(version) && version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;

/** `1-8`: the versions this side speaks, as messages name them. */
export const SPOKEN_PROTOCOL_VERSIONS = `${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`;
