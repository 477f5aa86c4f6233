import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildBindingRequest, parseBindingResponse, type StunAddress } from '../../protocol/stun.ts';

/**
 * STUN Binding requests to several servers from ONE fresh UDP socket, so that every answer
 * reports the same local socket's public mapping: if two destinations see different mappings,
 * the NAT maps by destination. Requests go out every `intervalMs` to each target until it has
 * answered `wanted` times or the deadline passes; a lost request is simply followed by the next.
 */
interface StunTarget {
  address: string;
  port: number;
}

export interface StunTargetResult {
  target: StunTarget;
  sent: number;
  /** Mapped address of each answer, in arrival order. */
  mapped: StunAddress[];
  /** Round-trip times of the answered requests, in ms. */
  rttsMs: number[];
}

interface StunProbeOptions {
  deadlineMs: number;
  wanted?: number;
  intervalMs?: number;
  /** Most requests per target (bounds what a lossy path costs). */
  maxSends?: number;
}

export async function probeStun(targets: StunTarget[], options: StunProbeOptions): Promise<StunTargetResult[]> {
  const { deadlineMs, wanted = 3, intervalMs = 100, maxSends = 10 } = options;
  const results = targets.map((target): StunTargetResult => ({ target, sent: 0, mapped: [], rttsMs: [] }));
  if (targets.length === 0) return results;
  const socket = createSocket(targets[0]!.address.includes(':') ? 'udp6' : 'udp4');
  const pending = new Map<string, { result: StunTargetResult; sentAt: number }>();
  const done = () => results.every((r) => r.mapped.length >= wanted);

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearInterval(ticker);
        clearTimeout(timer);
        resolve();
      };
      socket.on('message', (packet) => {
        const answer = parseBindingResponse(new Uint8Array(packet.buffer, packet.byteOffset, packet.byteLength));
        const key = answer && Buffer.from(answer.transactionId).toString('hex');
        const asked = key === undefined ? undefined : pending.get(key);
        if (!answer || !asked || asked.result.mapped.length >= wanted) return;
        pending.delete(key!);
        asked.result.rttsMs.push(performance.now() - asked.sentAt);
        asked.result.mapped.push(answer.mapped);
        if (done()) finish();
      });
      // Unreachable ports and refused sends are what a blocked path looks like: keep waiting.
      socket.on('error', () => undefined);
      const tick = () => {
        for (const r of results) {
          if (r.mapped.length >= wanted || r.sent >= maxSends) continue;
          const id = randomBytes(12);
          pending.set(id.toString('hex'), { result: r, sentAt: performance.now() });
          r.sent += 1;
          socket.send(buildBindingRequest(id), r.target.port, r.target.address, () => undefined);
        }
      };
      const ticker = setInterval(tick, intervalMs);
      const timer = setTimeout(finish, Math.max(0, deadlineMs));
      tick();
    });
  } finally {
    socket.close();
  }
  return results;
}
