import { fileURLToPath } from 'node:url';

/** Absolute paths of the project's entry points, whatever directory the tests run from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TRELLIS_BIN = `${REPO_ROOT}bin/trellis.js`;
export const TRELLIS_SERVER_BIN = `${REPO_ROOT}bin/trellis-server.js`;
