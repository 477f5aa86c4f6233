/**
 * The Node.js flags `trellis kube-proxy` runs with (the manifests' command line; by hand:
 * `NODE_OPTIONS=--max-semi-space-size=1 trellis kube-proxy ...`). V8 reads heap sizes once at
 * start, so the CLI cannot set them itself.
 *
 * Why a 1 MiB young generation: the proxy allocates little on the JavaScript heap but every
 * answer it relays passes through buffers outside it (about 47 KB per list of 100 configmaps).
 * With the default 16 MiB semi-space its young generation seldom fills, so those buffers are
 * not freed by young collections, and V8 runs a full mark-compact each time memory outside the
 * heap has grown by 64 MiB: every thousand lists or so, 10 ms and more each, on the request path.
 * With 1 MiB, young collections (well under a millisecond, nearly nothing survives) free the
 * buffers as they go and full collections all but stop: in `npm run bench:kube` the proxy's CPU
 * per list fell from about 0.29 to 0.21 ms, and its one-client p99 tail went with them.
 */
export const KUBE_PROXY_NODE_FLAGS = ['--max-semi-space-size=1'] as const;
