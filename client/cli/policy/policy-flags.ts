import { flags } from '../../../cli-flags/index.ts';

/** The inputs of the commands that evaluate a policy against a network. */
export const POLICY_FLAGS = flags({
  policy: { type: 'string', value: 'FILE', required: true, help: 'the policy (HuJSON)' },
  topology: { type: 'string', value: 'FILE', required: true, help: 'the nodes and users (JSON)' },
});
