/**
 * Console benchmark: the machines page in Debian's chromium, with 10,000 machines and, as the
 * baseline in the same run, with 100. For each size:
 *   1. first render: from navigation to the first machine row on screen. The console's files
 *      come from the server's own static mount (server/http/pages/console.ts) over real HTTP;
 *      the session, the machine list and the event stream are fixed answers on the same port,
 *      so the figure is the console's own cost (fetch, parse, index, render), not the cost of
 *      the server's list endpoint, which bench:control measures;
 *   2. filter keystroke: typing a search one character at a time, from each input event to the
 *      next frame after the table has changed (median and worst).
 * Prints the figures side by side, then one JSON line.
 */
import { Hono } from 'hono';
import { buildConsole, consoleBuildIsStale } from '../../../console/build.ts';
import { HttpListener } from '../../../server/http/listener.ts';
import { consolePages } from '../../../server/http/pages/console.ts';
import { launchBrowser } from '../../support/chromium.ts';
import { syntheticMachines } from './synthetic-machines.ts';

const SIZES = { baseline: 100, target: 10_000 };
const QUERY = 'web-1'; // typed one character at a time: "w", "we", ... "web-1"
const RUNS = 3;

const SESSION = {
  user: { id: 'u1', email: 'bench@example.com', displayName: 'Bench', groups: [] },
  role: 'admin',
  scopes: ['admin'],
  csrfToken: 'bench',
};

interface InPage {
  document: { querySelector(selector: string): { value: string; dispatchEvent(e: Event): boolean } | null };
  requestAnimationFrame(callback: () => void): number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

/** The console's static mount and fixed API answers for `count` machines, on a loopback port. */
async function serve(count: number) {
  const machines = JSON.stringify({ items: syntheticMachines(count) });
  const app = new Hono();
  app.get('/api/v1/console/session', (c) => c.json(SESSION));
  app.get('/api/v1/console/events', (c) => c.body(null, 204));
  app.get('/api/v1/nodes', (c) => c.body(machines, 200, { 'content-type': 'application/json' }));
  consolePages()(app);
  const http = new HttpListener();
  await http.listen(app.fetch, '127.0.0.1', 0);
  return http;
}

async function measure(count: number) {
  const http = await serve(count);
  const browser = await launchBrowser();
  try {
    const firstRender: number[] = [];
    const keystrokes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const page = await browser.context.newPage();
      await page.goto(`${http.url}/console/machines`);
      // performance.now() counts from the navigation's start.
      const rendered = await page.waitForFunction(
        () =>
          (globalThis as unknown as InPage).document.querySelector('table.grid tbody tr[aria-rowindex]')
            ? performance.now()
            : 0,
        undefined,
        { polling: 'raf' },
      );
      firstRender.push((await rendered.jsonValue()) as number);
      const times = await page.evaluate(async (query: string) => {
        // Runs in the page; the tree's TypeScript has no DOM library, so the few names it uses are declared here.
        const w = globalThis as unknown as InPage;
        const input = w.document.querySelector('input[type=search]')!;
        const out: number[] = [];
        for (let i = 1; i <= query.length; i++) {
          const started = performance.now();
          input.value = query.slice(0, i);
          input.dispatchEvent(new Event('input', { bubbles: true }));
          await new Promise<void>((resolve) => w.requestAnimationFrame(() => setTimeout(resolve, 0)));
          out.push(performance.now() - started);
        }
        return out;
      }, QUERY);
      const shown = await page.locator('.count').textContent();
      if (!shown?.includes(`of ${count} machines`)) throw new Error(`the page shows "${shown}" for ${count} machines`);
      keystrokes.push(...times);
      await page.close();
    }
    return {
      nodes: count,
      firstRenderMs: round(median(firstRender)),
      filterMs: round(median(keystrokes)),
      filterMaxMs: round(Math.max(...keystrokes)),
    };
  } finally {
    await browser.close();
    await http.close();
  }
}

if (consoleBuildIsStale()) await buildConsole();
{
  const baseline = await measure(SIZES.baseline);
  const target = await measure(SIZES.target);
  const row = (name: string, b: number, t: number) =>
    console.log(
      `${name.padEnd(22)} ${String(b).padStart(10)} ${String(t).padStart(10)} ${(t / b).toFixed(2).padStart(8)}x`,
    );
  console.log(`machines page, median of ${RUNS} loads; keystrokes typing "${QUERY}"`);
  console.log(
    `${''.padEnd(22)} ${`${SIZES.baseline} nodes`.padStart(10)} ${`${SIZES.target} nodes`.padStart(10)} ${'ratio'.padStart(9)}`,
  );
  row('first render (ms)', baseline.firstRenderMs, target.firstRenderMs);
  row('filter keystroke (ms)', baseline.filterMs, target.filterMs);
  row('worst keystroke (ms)', baseline.filterMaxMs, target.filterMaxMs);
  console.log(
    `targets: first render < 1000 ms: ${target.firstRenderMs < 1000 ? 'met' : 'MISSED'}; keystroke < 100 ms: ${target.filterMs < 100 ? 'met' : 'MISSED'}`,
  );
  console.log(JSON.stringify({ ...target, baseline }));
}
