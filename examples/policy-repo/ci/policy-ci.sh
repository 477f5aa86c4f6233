#!/usr/bin/env bash
# The policy repository's CI steps, for any CI system; .github/workflows/policy.yml runs these
# same steps on GitHub Actions.
#
#   ci/policy-ci.sh check   every pull request: syntax, meaning and the policy's own tests
#   ci/policy-ci.sh diff    every pull request: who gains and loses access on the live network,
#                           as Markdown in $TRELLIS_CI_DIR/diff.md for a review comment, and the
#                           live policy's version in $TRELLIS_CI_DIR/base-version
#   ci/policy-ci.sh apply   after the merge: upload the policy, refused unless the server's
#                           policy is still the version the diff was taken against
#
# Environment:
#   TRELLIS_SERVER        the server's URL (diff, apply)
#   TRELLIS_API_KEY       an API key with the read and policy scopes (diff, apply)
#   POLICY_FILE           the policy file (default: policy.hujson)
#   TRELLIS_CI_DIR        where diff leaves its results for the review and for apply
#                         (default: .trellis-ci); keep it from the review to the merge
#   TRELLIS_BASE_VERSION  apply: the version the reviewed diff saw (default: read from
#                         $TRELLIS_CI_DIR/base-version)
#   TRELLIS               how to run the trellis CLI (default: trellis)
#
# Exit status: 0 when the step passed; otherwise the CLI's status (1: the policy or the server
# refused, with the reason on stderr; 2: a usage or setup problem).
set -euo pipefail

read -r -a trellis <<<"${TRELLIS:-trellis}"
policy_file=${POLICY_FILE:-policy.hujson}
ci_dir=${TRELLIS_CI_DIR:-.trellis-ci}

need() {
  if [[ -z ${!1:-} ]]; then
    echo "policy-ci: $1 is not set: $2" >&2
    exit 2
  fi
}

case ${1:-} in
  check)
    "${trellis[@]}" policy check "$policy_file"
    ;;
  diff)
    need TRELLIS_SERVER "the server's URL"
    need TRELLIS_API_KEY 'an API key with the read and policy scopes'
    mkdir -p "$ci_dir"
    "${trellis[@]}" policy diff "$policy_file" --server "$TRELLIS_SERVER" \
      --format markdown --record-version "$ci_dir/base-version" >"$ci_dir/diff.md"
    cat "$ci_dir/diff.md"
    ;;
  apply)
    need TRELLIS_SERVER "the server's URL"
    need TRELLIS_API_KEY 'an API key with the read and policy scopes'
    base=${TRELLIS_BASE_VERSION:-}
    if [[ -z $base && -f $ci_dir/base-version ]]; then base=$(<"$ci_dir/base-version"); fi
    if [[ -z $base ]]; then
      echo "policy-ci: no reviewed base version: run the diff step first (it writes $ci_dir/base-version) or set TRELLIS_BASE_VERSION" >&2
      exit 2
    fi
    "${trellis[@]}" policy apply "$policy_file" --server "$TRELLIS_SERVER" --if-version "$base"
    ;;
  *)
    echo "usage: ci/policy-ci.sh check|diff|apply (see the top of this file)" >&2
    exit 2
    ;;
esac
