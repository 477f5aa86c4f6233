/**
 * The floor: a bare ws server that does nothing but push bytes. Each client says how many
 * bytes it wants (?bytes=N); POST /go sends every client one message of that size at once.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const clients: Array<{ ws: WebSocket; bytes: number }> = [];
const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/go') {
    for (const c of clients) c.ws.send('x'.repeat(c.bytes));
    res.end('sent');
    return;
  }
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const bytes = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? '0');
  clients.push({ ws, bytes });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
