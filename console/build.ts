/**
 * Builds the admin console (console/src) into static files (console/dist) that the server serves
 * at /console/. Vite's own JSX transform (oxc) with Preact's automatic runtime: no plugin, no
 * config file, so the one build definition lives here and is shared by `npm run build:console`,
 * `npm start` and the test run.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const CONSOLE_ROOT = fileURLToPath(new URL('.', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');

export async function buildConsole(outDir = CONSOLE_DIST): Promise<void> {
  await build({
    root: CONSOLE_ROOT,
    base: '/console/',
    configFile: false,
    logLevel: 'warn',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The Content-Security-Policy forbids inline scripts and data: URIs: every asset is a file.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      reportCompressedSize: false,
    },
  });
}

/** True when the build is missing or older than any of its sources. */
export function consoleBuildIsStale(outDir = CONSOLE_DIST): boolean {
  const built = join(outDir, 'index.html');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const sources = [
    join(CONSOLE_ROOT, 'index.html'),
    join(CONSOLE_ROOT, 'build.ts'),
    ...filesUnder(join(CONSOLE_ROOT, 'src')),
  ];
  return sources.some((f) => statSync(f).mtimeMs > builtAt);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

// `node --import tsx console/build.ts [--if-stale]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--if-stale') && !consoleBuildIsStale()) {
    console.log('console: build is up to date');
  } else {
    await buildConsole();
    console.log(`console: built into ${CONSOLE_DIST}`);
  }
}
