/** The policy a new server starts with: every device may reach every other, as Tailscale's default. */
export const ALLOW_ALL_POLICY = `// Trellis policy (HuJSON: comments and trailing commas are fine).
// This starter lets every device reach every other device on every port.
// Replace it with rules for your network; see policy/README.md.
{
  "groups": {},
  "tagOwners": {},
  "hosts": {},
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["*:*"]},
  ],
  "tests": [],
}
`;
