import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuditReporter } from '../../../client/kube-proxy/audit-reporter.ts';
import type { KubeRequestEvent, NodeAuditReport } from '../../../protocol/node-audit.ts';

const event = (name: string): KubeRequestEvent => ({
  kind: 'kube.request',
  caller: { login: 'alice@example.com', nodeId: 'n-alice', nodeName: 'laptop', address: '100.64.0.2' },
  verb: 'get',
  resource: 'pods',
  namespace: 'default',
  name,
  status: 200,
  mode: 'auth',
});

function logTo(lines: Record<string, unknown>[], level = 'info') {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level }, sink);
}

describe('AuditReporter', () => {
  it("sends events to the server in batches and writes nothing to the proxy's log per request", async () => {
    const reports: NodeAuditReport[] = [];
    const lines: Record<string, unknown>[] = [];
    const audit = new AuditReporter({ reportAudit: async (r) => void reports.push(r) }, logTo(lines));
    for (let i = 0; i < 120; i++) audit.record(event(`web-${i}`));
    await audit.flush();
    expect(reports.map((r) => r.events.length)).toEqual([50, 50, 20]);
    expect(reports[2]!.events[19]!.name).toBe('web-119');
    expect(lines).toEqual([]);
  });

  it('logs each event at debug level, for who asks for it', () => {
    const lines: Record<string, unknown>[] = [];
    const audit = new AuditReporter({ reportAudit: async () => undefined }, logTo(lines, 'debug'));
    audit.record(event('web-1'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('kube: alice@example.com get pods: 200');
  });

  it('keeps events while the agent is away and sends them once it is back', async () => {
    let away = true;
    const reports: NodeAuditReport[] = [];
    const lines: Record<string, unknown>[] = [];
    const agent = {
      reportAudit: async (r: NodeAuditReport) => {
        if (away) throw Object.assign(new Error('connect ENOENT'), { code: 'agent.unreachable' });
        reports.push(r);
      },
    };
    const audit = new AuditReporter(agent, logTo(lines));
    audit.record(event('web-1'));
    await audit.flush();
    expect(reports).toEqual([]);
    away = false;
    await audit.flush();
    expect(reports[0]!.events.map((e) => e.name)).toEqual(['web-1']);
  });

  it("writes an event the full queue has to drop to the proxy's log, so it is on record", () => {
    const lines: Record<string, unknown>[] = [];
    const audit = new AuditReporter({ reportAudit: async () => undefined }, logTo(lines));
    for (let i = 0; i <= 10_000; i++) audit.record(event(`web-${i}`));
    expect(lines).toHaveLength(1);
    expect((lines[0]!.audit as KubeRequestEvent).name).toBe('web-0');
    expect(lines[0]!.level).toBe(40);
  });
});
