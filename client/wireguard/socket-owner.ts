import { readdir, readFile, readlink, stat } from 'node:fs/promises';

/**
 * Which processes listen on a unix socket path, and in which network namespace each one runs.
 *
 * wireguard-go puts its UAPI socket in /var/run/wireguard, a directory every network namespace
 * of the machine shares, so a socket that answers may belong to a device in another namespace.
 * A connection cannot tell (Node has no SO_PEERCRED), but the kernel can: /proc/<pid>/net/unix
 * lists only the sockets of that process's namespace, with the path each was bound to and its
 * inode, and /proc/<pid>/fd links name the socket inodes a process holds. Processes we may not
 * inspect are skipped, so an empty answer means "nobody we can see", never "nobody".
 */
export interface SocketOwner {
  pid: number;
  /** /proc/<pid>/comm, e.g. `wireguard-go`. */
  command: string;
  /** Inode of its network namespace (as `ip netns identify` and /proc/<pid>/ns/net know it). */
  netnsInode: number;
  /** The namespace's name under /run/netns, when it has one. */
  netnsName?: string;
}

const NETNS_DIR = '/run/netns';
/** __SO_ACCEPTCON in /proc/net/unix's Flags column: a listening socket. */
const LISTENING = 0x10000;

/** The namespace a device lives in: the named one, or this process's own. */
export async function netnsInode(netns?: string): Promise<number> {
  return (await stat(netns === undefined ? '/proc/self/ns/net' : `${NETNS_DIR}/${netns}`)).ino;
}

export async function socketOwners(socketPath: string): Promise<SocketOwner[]> {
  const byNetns = new Map<number, number[]>();
  for (const pid of await processIds()) {
    const inode = await stat(`/proc/${pid}/ns/net`).then(
      (s) => s.ino,
      () => undefined,
    );
    if (inode === undefined) continue;
    const pids = byNetns.get(inode) ?? [];
    pids.push(pid);
    byNetns.set(inode, pids);
  }
  const names = await netnsNames();
  const owners: SocketOwner[] = [];
  for (const [netnsInode, pids] of byNetns) {
    const unclaimed = await listeningInodes(pids, socketPath);
    if (unclaimed.size === 0) continue;
    const netnsName = names.get(netnsInode);
    // Look at wireguard-go first: it is almost always the one, and a namespace may hold many processes.
    const candidates = await Promise.all(pids.map(async (pid) => ({ pid, command: await commandOf(pid) })));
    candidates.sort((a, b) => Number(b.command === 'wireguard-go') - Number(a.command === 'wireguard-go'));
    for (const { pid, command } of candidates) {
      if (unclaimed.size === 0) break;
      if (!(await claim(pid, unclaimed))) continue;
      owners.push({ pid, command, netnsInode, ...(netnsName !== undefined && { netnsName }) });
    }
  }
  return owners;
}

/** `wireguard-go (pid 42) in network namespace "lab-a"`, for messages. */
export function describeOwner(owner: SocketOwner): string {
  const where = owner.netnsName === undefined ? `net:[${owner.netnsInode}]` : `"${owner.netnsName}"`;
  return `${owner.command} (pid ${owner.pid}) in network namespace ${where}`;
}

/** Inodes of the sockets listening on `path` in the namespace these processes share. */
async function listeningInodes(pids: readonly number[], path: string): Promise<Set<number>> {
  for (const pid of pids) {
    const table = await readFile(`/proc/${pid}/net/unix`, 'utf8').catch(() => undefined);
    if (table === undefined) continue; // the process just exited: ask another one of the namespace
    const inodes = new Set<number>();
    for (const line of table.split('\n').slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path
      const fields = line.trim().split(/\s+/);
      if (fields.length < 8 || fields.slice(7).join(' ') !== path) continue;
      if ((parseInt(fields[3]!, 16) & LISTENING) !== 0) inodes.add(Number(fields[6]));
    }
    return inodes;
  }
  return new Set();
}

/** Whether `pid` holds one of `inodes`; the ones it holds are taken out of the set. */
async function claim(pid: number, inodes: Set<number>): Promise<boolean> {
  let held = false;
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match && inodes.delete(Number(match[1]))) held = true;
  }
  return held;
}

function commandOf(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/comm`, 'utf8').then(
    (c) => c.trim(),
    () => '?',
  );
}

async function processIds(): Promise<number[]> {
  return (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
}

async function netnsNames(): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const name of await readdir(NETNS_DIR).catch(() => [] as string[])) {
    const inode = await stat(`${NETNS_DIR}/${name}`).then(
      (s) => s.ino,
      () => undefined,
    );
    if (inode !== undefined) names.set(inode, name);
  }
  return names;
}
