import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { messagePage, PAGE_HEADERS } from './html.ts';

/** Where `npm run build:console` (console/build.ts) writes the built console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));
export const CONSOLE_BASE = '/console/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The admin console's static files at /console/. Vite names every asset by its content hash, so
 * assets are cached for a year and never revalidated; index.html is revalidated on every load so
 * a new build is picked up at once. Any other path under /console/ is a page of the console's own
 * router and gets index.html. Only files found in the build directory are served (no path from
 * the URL reaches the file system). Without a build, a page says how to make one.
 */
export function consolePages(dist = CONSOLE_DIST) {
  let files: Map<string, Buffer> | undefined;
  const load = () => {
    if (files || !existsSync(join(dist, 'index.html'))) return files;
    files = new Map(listFiles(dist).map((f) => [relative(dist, f).split(sep).join('/'), readFileSync(f)]));
    return files;
  };
  return (app: Hono): void => {
    app.get('/', (c) => c.redirect(CONSOLE_BASE, 302));
    app.get('/console', (c) => c.redirect(CONSOLE_BASE, 301));
    app.get(`${CONSOLE_BASE}*`, (c) => {
      const built = load();
      if (!built) {
        return c.body(
          messagePage({
            title: 'The console is not built',
            message:
              'This server runs from a checkout whose admin console has not been built yet. Run npm run build:console (npm start does it for you), then reload this page.',
          }),
          503,
          PAGE_HEADERS,
        );
      }
      const name = c.req.path.slice(CONSOLE_BASE.length);
      const asset = name.startsWith('assets/') ? built.get(name) : undefined;
      if (asset) {
        return c.body(new Uint8Array(asset), 200, {
          'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
          'cache-control': 'public, max-age=31536000, immutable',
          'x-content-type-options': 'nosniff',
        });
      }
      if (name.startsWith('assets/')) return c.notFound();
      return c.body(new Uint8Array(built.get('index.html')!), 200, {
        'content-type': TYPES['.html']!,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
    });
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}
