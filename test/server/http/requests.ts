import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import { generateMachineKey, type MachineKeyPair } from '../../../client/control/machine-key.ts';
import { generateKeyPair, type KeyPair } from '../../../client/wireguard/keys.ts';
import { ErrorBody } from '../../../protocol/errors.ts';
import { signProof } from '../../../protocol/proof.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';

/** Raw HTTP against a test server, so tests can send exactly the bytes they mean to. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Every answer seen, so a suite can check afterwards that none leaked internals. */
export const answersSeen: Answer[] = [];

export async function send(
  url: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Answer> {
  const res = await fetch(url + path, { method, headers: opts.headers, body: opts.body });
  return answer(res.status, res.headers, await res.text());
}

/** Sends from a chosen loopback source address (127.0.0.0/8 is all local on Linux). */
export function sendFrom(
  localAddress: string,
  url: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + path, { method, headers: opts.headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(answer(res.statusCode ?? 0, headers, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function answer(status: number, headers: Headers, text: string): Answer {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const a = { status, headers, text, json };
  answersSeen.push(a);
  return a;
}

/** A machine as an agent would have it: its own machine key and WireGuard key. */
export interface Machine {
  machine: MachineKeyPair;
  wireguard: KeyPair;
}
export const newMachine = (): Machine => ({ machine: generateMachineKey(), wireguard: generateKeyPair() });

export function registerBody(m: Machine, key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocolVersion: PROTOCOL_VERSION,
    wireguardKey: m.wireguard.publicKey,
    machineKey: m.machine.publicKey,
    hostname: 'box',
    credential: { type: 'preauth-key', key },
    ...extra,
  };
}

export function proofFor(
  m: Machine,
  method: string,
  path: string,
  body: string | Uint8Array = '',
  nowMs?: number,
): string {
  return signProof({
    machinePrivateKey: new Uint8Array(Buffer.from(m.machine.privateKey, 'base64')),
    method,
    pathWithQuery: path,
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    nowMs,
  });
}

/** A request signed by `m` over exactly the bytes sent (unless a header is given). */
export function signed(
  url: string,
  m: Machine,
  method: string,
  path: string,
  body?: unknown,
  opts: { nowMs?: number; authorization?: string } = {},
): Promise<Answer> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const authorization = opts.authorization ?? proofFor(m, method, path, text, opts.nowMs);
  return send(url, method, path, {
    headers: { authorization, ...(text && { 'content-type': 'application/json' }) },
    body: text || undefined,
  });
}

/** The answer is a refusal with this status and code, in the documented error shape. */
export function expectRefused(a: Answer, status: number, code: string): ErrorBody {
  expect(a.status, `${a.status} ${a.text}`).toBe(status);
  expect(a.headers.get('content-type') ?? '').toContain('application/json');
  const body = ErrorBody.parse(a.json);
  expect(body.code, a.text).toBe(code);
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

/** Patterns that would mean the server showed its insides: stack frames, source paths, driver errors. */
export const INTERNALS = [
  /\bat \S+ \(/,
  /\.ts:\d+/,
  /node_modules/,
  /SqliteError/,
  /SQLITE_/,
  /TypeError/,
  /ReferenceError/,
  /\n\s+at /,
];
