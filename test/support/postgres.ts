import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { postgresBinDir, postgresRunAs } from './postgres-binaries.ts';

/**
 * A throwaway PostgreSQL cluster for one test file: its own temporary directory, a free port on
 * loopback, its Unix socket in that directory, and fsync off: a killed server loses nothing it
 * acknowledged (the WAL is written to the OS before a commit returns; synchronous_commit stays on),
 * only a crash of the machine would, and a test's database never outlives the test. PostgreSQL refuses to run as root, so
 * when the tests run as root (CI does) the cluster runs as the `postgres` system user.
 */
export interface TestPostgres {
  /** `postgresql://trellis@127.0.0.1:<port>/postgres`: the superuser, no password (trust). */
  readonly url: string;
  readonly port: number;
  /** Directory of the Unix socket (as PGHOST takes it). */
  readonly socketDir: string;
  /** A new empty database; its URL. Each test that needs a clean store takes one. */
  database(name?: string): Promise<string>;
  /** Fast shutdown (connections are cut), then the same cluster starts again on the same port. */
  restart(): Promise<void>;
  /** SIGKILL of the server and every backend, as a crash; restart() brings it back (crash recovery). */
  kill(): Promise<void>;
  /** Shuts it down and deletes everything. */
  stop(): Promise<void>;
}

const SUPERUSER = 'trellis';

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: sudo bash deploy/install-system-deps.sh');
  const runAs = postgresRunAs();
  const root = mkdtempSync(join(tmpdir(), 'trellis-pg-'));
  if (runAs) chownSync(root, runAs.uid, runAs.gid);
  const dataDir = join(root, 'data');
  await run(join(bin, 'initdb'), ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync'], runAs);

  let port = await freePort();
  let server: ChildProcess | undefined;
  let databases = 0;
  const url = () => `postgresql://${SUPERUSER}@127.0.0.1:${port}/postgres`;

  const start = async () => {
    const args = [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      '-c',
      `log_destination=stderr`,
    ];
    const child = spawn(join(bin, 'postgres'), args, {
      // Its own process group, so kill() takes the backends down with the postmaster.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(runAs && { uid: runAs.uid, gid: runAs.gid }),
    });
    const log: string[] = [];
    child.stderr!.on('data', (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 200) log.shift();
    });
    server = child;
    try {
      await untilReady(url(), child, () => log.join(''));
    } catch (err) {
      killGroup(child);
      throw err;
    }
  };

  const shutDown = async (signal: NodeJS.Signals) => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (signal === 'SIGKILL') killGroup(child);
    else child.kill(signal);
    // A fast shutdown that hangs (a checkpoint stuck behind a dying client) ends as a crash would;
    // on a loaded machine the exit may also be seen late: never wait on it past that.
    let stuck: NodeJS.Timeout | undefined;
    await Promise.race([
      exited,
      new Promise<void>((resolve) => {
        stuck = setTimeout(() => {
          killGroup(child);
          stuck = setTimeout(resolve, 5_000);
        }, 5_000);
      }),
    ]);
    clearTimeout(stuck);
  };

  // Started once; when the port was taken between choosing and binding, choose another.
  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        rmSync(root, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }
  const onExit = () => server && killGroup(server);
  process.once('exit', onExit);

  return {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    socketDir: root,
    async database(name = `t${++databases}_${process.pid}`) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return url().replace(/\/postgres$/, `/${name}`);
    },
    async restart() {
      await shutDown('SIGINT');
      await startAgain(start);
    },
    async kill() {
      await shutDown('SIGKILL');
    },
    async stop() {
      process.removeListener('exit', onExit);
      await shutDown('SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** After a kill, backends may take a moment to go; the postmaster refuses to start until they have. */
async function startAgain(start: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function untilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      killGroup(child);
      throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], runAs: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs && { uid: runAs.uid, gid: runAs.gid }),
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}:\n${output}`)),
    );
  });
}
