import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginRequest, LoginWaitRequest, UpRequest } from '../../../client/agent/local-api/messages.ts';
import { LocalApi } from '../../../client/agent/local-api/server.ts';
import { fuzzAsync, mutatedText } from '../../support/fuzz.ts';
import { startLocalAgent } from '../../support/local-agent.ts';

interface Reply {
  status: number;
  body: unknown;
}

const CODE = /^agent\.[a-z0-9]+(_[a-z0-9]+)*$/;

/**
 * The local API over a real unix socket, fed any request body: whatever arrives is answered with
 * a coded JSON error (or, for a well-formed message, handled), the agent never crashes, and it
 * still answers a valid request afterwards. No server is configured, so no message reaches the
 * network: a valid /v1/up or /v1/login body is sent to /v1/login/wait instead.
 */
describe('the agent local API under garbled requests', () => {
  let dir: string;
  let api: LocalApi;
  const socketPath = () => join(dir, 'agent.sock');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-api-fuzz-'));
    ({ api } = await startLocalAgent(dir));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function call(method: string, path: string, body?: string | Uint8Array): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: socketPath(), method, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            reject(new Error(`reply is not JSON: ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  function expectRefusal(reply: Reply, status?: number): void {
    const body = reply.body as { code?: unknown; message?: unknown };
    expect(reply.status).toBeGreaterThanOrEqual(400);
    if (status !== undefined) expect(reply.status).toBe(status);
    expect(typeof body.code === 'string' && CODE.test(body.code), `code ${String(body.code)}`).toBe(true);
    expect(typeof body.message === 'string' && body.message.length > 0).toBe(true);
  }

  async function stillServes(): Promise<void> {
    const status = await call('GET', '/v1/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ state: 'needs-login', peers: [] });
  }

  const ROUTES = { '/v1/up': UpRequest, '/v1/login': LoginRequest, '/v1/login/wait': LoginWaitRequest } as const;
  const route = fc.constantFrom(...(Object.keys(ROUTES) as (keyof typeof ROUTES)[]));
  const validJson = fc.oneof(
    fc.record({ id: fc.string({ minLength: 1, maxLength: 64 }), waitMs: fc.constant(0) }),
    fc.record(
      {
        serverUrl: fc.constantFrom('http://127.0.0.1:1', 'https://x.example', 'ftp://x'),
        hostname: fc.string({ maxLength: 8 }),
        advertiseTags: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
        waitMs: fc.oneof(fc.integer(), fc.double()),
        device: fc.boolean(),
        credential: fc.record({ type: fc.constantFrom('preauth-key', 'oidc', 'nope'), key: fc.string() }),
      },
      { requiredKeys: [] },
    ),
  );
  const validText = validJson.map((v) => JSON.stringify(v));
  const body = fc.oneof(
    validText,
    mutatedText(validText),
    fc.json(),
    fc.string({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }),
  );

  it('refuses any garbled message with a coded error and keeps serving', async () => {
    await fuzzAsync(
      fc.asyncProperty(route, body, async (drawn, payload) => {
        let json: unknown;
        try {
          json = typeof payload === 'string' ? JSON.parse(payload === '' ? '{}' : payload) : undefined;
        } catch {
          json = undefined;
        }
        const valid = json !== undefined && ROUTES[drawn].safeParse(json).success;
        // A valid /v1/up or /v1/login would start work against a server; those go to /v1/login/wait.
        const path = valid && drawn !== '/v1/login/wait' ? '/v1/login/wait' : drawn;
        const reply = await call('POST', path, payload);
        if (path === drawn && !valid) expectRefusal(reply, 400);
        else if (reply.status !== 200) expectRefusal(reply);
        await stillServes();
      }),
      { runs: 60 },
    );
  });

  it('refuses an oversized body as a bad request and keeps serving', async () => {
    expectRefusal(await call('POST', '/v1/login/wait', JSON.stringify({ id: 'x'.repeat(70_000) })), 400);
    await stillServes();
  });

  it('answers a valid message after garbage on the same socket', async () => {
    expectRefusal(await call('POST', '/v1/login/wait', '{"id":'), 400);
    const reply = await call('POST', '/v1/login/wait', JSON.stringify({ id: 'none', waitMs: 0 }));
    expectRefusal(reply, 404);
    expect(reply.body).toMatchObject({ code: 'agent.not_found' });
  });
});
