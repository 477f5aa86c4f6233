import type { Logger } from 'pino';
import type { LocalApiClient } from '../agent/local-api/client.ts';
import { KubeRequestEvent, type NodeAuditReport } from '../../protocol/node-audit.ts';

const FLUSH_MS = 500;
const BATCH = 50;
const MAX_QUEUE = 10_000;

/**
 * Sends every proxied request to the server's audit trail, through the local agent (which signs
 * the report as this node's). Events are batched for half a second; while the server or agent
 * is away they wait in a bounded queue and go with the next flush. Nothing is written per request
 * on the request's path (the log is synchronous: one more system call per call): an event
 * is in the proxy's own log only when it cannot reach the server, i.e. when the full queue drops it
 * or the server refuses it, so every event is on record somewhere. `--log-level debug` logs each.
 */
export class AuditReporter {
  private queue: KubeRequestEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly agent: Pick<LocalApiClient, 'reportAudit'>,
    private readonly logger: Logger,
  ) {}

  record(event: KubeRequestEvent): void {
    const checked = KubeRequestEvent.safeParse(event);
    if (!checked.success) {
      this.logger.error({ event, issue: checked.error.issues[0] }, 'audit event does not fit the wire schema');
      return;
    }
    if (this.logger.isLevelEnabled('debug'))
      this.logger.debug(
        { audit: event },
        `kube: ${event.caller.login} ${event.verb} ${event.resource}: ${event.status}`,
      );
    this.queue.push(checked.data);
    if (this.queue.length > MAX_QUEUE)
      this.logger.warn(
        { audit: this.queue.shift() },
        'audit event not reported: the server has been away for too long and the queue is full',
      );
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Stops the timer and sends what is queued (one last try). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  flush(): Promise<void> {
    this.flushing ??= this.send().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async send(): Promise<void> {
    while (this.queue.length > 0) {
      const report: NodeAuditReport = { events: this.queue.slice(0, BATCH) };
      try {
        await this.agent.reportAudit(report);
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? '');
        if (!code.startsWith('request.')) {
          this.logger.warn({ err, queued: this.queue.length }, 'audit events not reported yet; retrying');
          return;
        }
        // The server refused the report itself (an older server, a schema it reads otherwise):
        // sending it again would block every later event behind it. It stays in this log.
        this.logger.error({ err, events: report.events }, 'the server refused audit events; they are only in this log');
      }
      this.queue.splice(0, report.events.length);
    }
  }
}
