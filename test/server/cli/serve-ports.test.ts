import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../../server/cli/io.ts';
import { main } from '../../../server/cli/main.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const SERVER_BIN = join(import.meta.dirname, '../../../bin/trellis-server.js');

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs `trellis-server serve` as a user would, with a data directory of its own. */
function serveProcess(flags: string[], dataDir: string): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [SERVER_BIN, 'serve', '--data-dir', dataDir, '--listen.host', '127.0.0.1', '--log.level', 'silent', ...flags],
      // A start that failed must leave nothing open that keeps the process alive.
      { timeout: 15_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

/** The same command in this process, which is quicker; `main` is what the binary runs. */
async function serveHere(flags: string[], dataDir: string): Promise<Exit> {
  const err: string[] = [];
  const io: CliIO = { out: () => {}, err: (line) => err.push(line), env: {} };
  const code = await main(
    ['serve', '--data-dir', dataDir, '--listen.host', '127.0.0.1', '--log.level', 'silent', ...flags],
    io,
  );
  return { code, stderr: err.join('\n') };
}

describe('trellis-server serve on ports another server holds', () => {
  let first: TestServer;
  let dir: string;
  const ports = { http: 0, relay: 0, stun: 0 };

  beforeAll(async () => {
    first = await startTestServer({ relay: { udpPort: 0, stunPort: 0 } });
    ports.http = Number(new URL(first.url).port);
    ports.relay = first.server.relay!.port;
    ports.stun = first.server.stunPort!;
    dir = mkdtempSync(join(tmpdir(), 'trellis-serve-'));
  });
  afterAll(async () => {
    await first?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Exactly one line on stderr (no stack trace), and exit code 1. */
  function expectRefusal(exit: Exit, line: string): void {
    expect(exit.stderr.trim()).toBe(`trellis-server serve: ${line}`);
    expect(exit.code).toBe(1);
  }

  it('names the busy HTTP port and the flag that moves it, exits 1 at once, and prints no stack trace', async () => {
    const exit = await serveProcess(
      ['--listen.port', String(ports.http), '--relay.udpPort', '0', '--relay.stunPort', '0'],
      join(dir, 'http'),
    );
    expectRefusal(
      exit,
      `TCP port ${ports.http} on 127.0.0.1 (listen.port) is already in use, perhaps by another trellis-server: ` +
        'stop that one, or choose another with --listen.port PORT [port.in_use]',
    );
  });

  it('names the busy relay port (relay.udpPort), and that -1 turns the relay off', async () => {
    const exit = await serveHere(
      ['--listen.port', '0', '--relay.udpPort', String(ports.relay), '--relay.stunPort', '0'],
      join(dir, 'relay'),
    );
    expectRefusal(
      exit,
      `UDP port ${ports.relay} on 127.0.0.1 (relay.udpPort) is already in use, perhaps by another trellis-server: ` +
        'stop that one, or choose another with --relay.udpPort PORT (-1 turns the relay off) [port.in_use]',
    );
  });

  it('names the busy STUN port (relay.stunPort)', async () => {
    const exit = await serveHere(
      ['--listen.port', '0', '--relay.udpPort', '0', '--relay.stunPort', String(ports.stun)],
      join(dir, 'stun'),
    );
    expectRefusal(
      exit,
      `UDP port ${ports.stun} on 127.0.0.1 (relay.stunPort) is already in use, perhaps by another trellis-server: ` +
        'stop that one, or choose another with --relay.stunPort PORT (-1 turns it off) [port.in_use]',
    );
  });
});
