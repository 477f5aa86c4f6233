import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePages } from '../../../server/http/pages/console.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('the console static files', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.stop());

  const get = (path: string) => fetch(t.url + path, { redirect: 'manual' });

  it('sends the server root and /console to /console/', async () => {
    expect((await get('/')).headers.get('location')).toBe('/console/');
    expect((await get('/console')).headers.get('location')).toBe('/console/');
  });

  it('serves index.html revalidated on every load, and hashed assets cached for a year', async () => {
    const index = await get('/console/');
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /<script type="module" crossorigin src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await get(script!);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('has no inline script or style, so a CSP without unsafe-inline allows it', async () => {
    const html = await (await get('/console/')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("answers the console's own pages with index.html, and a missing asset with 404", async () => {
    const page = await get('/console/machines/n123');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await get('/console/assets/missing-0000.js')).status).toBe(404);
    expect((await get('/console/assets/../../package.json')).status).not.toBe(200);
  });
});

describe('without a build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-console-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers 503 with a page that says how to build the console', async () => {
    const app = new Hono();
    consolePages(dir)(app);
    const res = await app.request('/console/machines');
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain('The console is not built');
    expect(text).toContain('npm run build:console');
  });
});
