/**
 * The floor: a bare ws server that does nothing but push bytes. POST /sample gives it one real
 * map delta; POST /go sends that same text to every client at once, so the clients do exactly
 * the work they do for Trellis's deltas and only the server side differs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const clients: WebSocket[] = [];
let sample = '';
const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/sample') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sample = Buffer.concat(chunks).toString();
      res.end('ok');
    });
    return;
  }
  if (req.method === 'POST' && req.url === '/go') {
    for (const ws of clients) ws.send(sample);
    res.end('sent');
    return;
  }
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => clients.push(ws));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
