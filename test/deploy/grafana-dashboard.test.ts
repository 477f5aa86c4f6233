/**
 * deploy/grafana/trellis-server.json queries only what a real server exports at /metrics, with
 * labels those metrics carry, and shows every Trellis metric there is.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TestAgent, type TestServer } from '../support/server.ts';

interface Panel {
  type: string;
  title: string;
  id: number;
  targets?: Array<{ expr: string; legendFormat?: string }>;
}
const dashboard = JSON.parse(readFileSync('deploy/grafana/trellis-server.json', 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: unknown }> };
};

/** Labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = new Set(['instance', 'job']);
/** PromQL words the dashboard may use besides metric names. */
const PROMQL = new Set(['sum', 'max', 'rate', 'histogram_quantile', 'clamp_min', 'by', 'label_values']);

/** Series name -> the label names seen on it, from the exposition text. */
function exported(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      const names = kind === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => name + s) : [name];
      if (kind === 'summary') names.push(`${name}_sum`, `${name}_count`);
      for (const n of names) series.set(n, series.get(n) ?? new Set());
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const labels = series.get(sample[1]!) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/(\w+)="/g)) labels.add(m[1]!);
    series.set(sample[1]!, labels);
  }
  return series;
}

/** The metrics an expression selects (each written `name{...}`), with the labels it matches on. */
function selections(expr: string): Array<{ metric: string; labels: string[] }> {
  return [...expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    labels: [...m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

describe('the Grafana dashboard', () => {
  let t: TestServer;
  let series: Map<string, Set<string>>;

  beforeAll(async () => {
    t = await startTestServer();
    // Traffic, so that labelled series (map sends by kind, requests by status, a route's
    // election) have samples.
    await t.setPolicy(`{
      "tagOwners": { "tag:router": ["alice@example.com"] },
      "autoApprovers": { "routes": { "10.1.0.0/16": ["tag:router"] } },
      "acls": [{ "action": "accept", "src": ["*"], "dst": ["*:*"] }],
    }`);
    const agent = new TestAgent(t.url, 'dash-node');
    await agent.join(await t.preAuthKey({ tags: ['tag:router'] }), { advertiseRoutes: ['10.1.0.0/16'] });
    agent.connect();
    await agent.until((a) => a.map.self?.routes?.some((r) => r.role === 'primary') ?? false, 'its route elected');
    agent.stop();
    await fetch(`${t.url}/api/v1/no-such-thing`);
    series = exported(await (await fetch(`${t.url}/metrics`)).text());
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('has panels for nodes, map stream, queues, joins, relay and HTTP errors', () => {
    expect(dashboard.uid).toBe('trellis-server');
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      'Connected nodes',
      'Map sends',
      'Map bytes',
      'Map queues',
      'Join latency',
      'Relay sessions',
      'Relay handshakes',
      'Relay packets',
      'HTTP errors',
    ])
      expect(titles).toContain(title);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('queries only metrics the server exports, through label matchers on labels they carry', () => {
    expect(targets.length).toBeGreaterThan(20);
    for (const { panel, expr, legendFormat } of targets) {
      const where = `${panel}: ${expr}`;
      const selected = selections(expr);
      expect(selected.length, where).toBeGreaterThan(0);
      for (const { metric, labels } of selected) {
        expect(series.has(metric), `${where}: ${metric} is not exported`).toBe(true);
        for (const l of labels) expect(TARGET_LABELS.has(l) || series.get(metric)!.has(l), `${where}: ${l}`).toBe(true);
      }
      // Nothing else may name a metric: every word outside the selectors is PromQL or a label.
      const grouping = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/,\s*/));
      for (const l of grouping)
        for (const { metric } of selected) expect(series.get(metric)!.has(l), `${where}: by ${l}`).toBe(true);
      const rest = expr
        .replace(/([a-zA-Z_:][\w:]*)\{[^}]*\}/g, '')
        .replace(/\[[^\]]*\]/g, '')
        .replace(/by \([^)]*\)/g, 'by');
      for (const word of rest.match(/[a-zA-Z_:][\w:]*/g) ?? [])
        expect(PROMQL.has(word) || /^\d/.test(word) || word === 'e', `${where}: ${word}`).toBe(true);
      // A legend shows labels the result still has.
      for (const m of (legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g)) {
        const kept = grouping.length > 0 ? grouping : [...TARGET_LABELS, ...series.get(selected[0]!.metric)!];
        expect(kept, `${where}: legend {{${m[1]}}}`).toContain(m[1]);
      }
    }
    const instance = dashboard.templating.list.find((v) => v.name === 'instance');
    expect(JSON.stringify(instance?.query)).toContain('label_values(trellis_nodes, instance)');
    expect(series.has('trellis_nodes')).toBe(true);
  });

  it('shows every Trellis metric the server exports', () => {
    const queried = new Set(targets.flatMap((x) => selections(x.expr).map((s) => s.metric)));
    const trellis = [...series.keys()].filter((s) => s.startsWith('trellis_') && !/_(sum|count)$/.test(s));
    const histogramOrSeries = (s: string) => queried.has(s) || queried.has(s.replace(/_bucket$/, '_count'));
    expect(trellis.filter((s) => !histogramOrSeries(s))).toEqual([]);
  });
});
