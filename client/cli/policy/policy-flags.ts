import { flags } from '../../../cli-flags/index.ts';

/** Where the commands that talk to a running server find it, and the key to it (as trellis-server does). */
export const SERVER_FLAGS = flags({
  server: { type: 'string', value: 'URL', help: 'the server (or TRELLIS_SERVER; default http://127.0.0.1:8080)' },
  'api-key': { type: 'string', value: 'KEY', help: 'an API key (or TRELLIS_API_KEY, or DIR/admin-api-key)' },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: "the local server's data directory, to read its admin-api-key (or TRELLIS_DATA_DIR; default ./data)",
  },
});

/** The network a policy is evaluated on: a topology file, or the live one on the server. */
export const TOPOLOGY_FLAG = flags({
  topology: {
    type: 'string',
    value: 'FILE',
    help: "the nodes as the policy sees them (JSON; docs/policy-cli.md); default: the server's live network",
  },
});

/** The inputs of the commands that evaluate one policy: files, or what the server runs. */
export const NETWORK_FLAGS = flags({
  policy: { type: 'string', value: 'FILE', help: "the policy (HuJSON); default: the server's live policy" },
  ...TOPOLOGY_FLAG,
  ...SERVER_FLAGS,
});
