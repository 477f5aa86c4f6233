/**
 * Tiny TCP and UDP probes, run with `node -e` inside a namespace (a server in the test's own
 * process would live in the root namespace). Plain JavaScript so they start in ~50 ms.
 */

/** argv: name port... — answers each connection with one line, then closes. */
export const TCP_SERVER_JS = `
const net = require('node:net');
const [name, ...ports] = process.argv.slice(1);
let ready = 0;
for (const port of ports) {
  net.createServer((s) => {
    s.on('error', () => {}); // a client that resets (a health probe) must not end the server
    s.end('hello from ' + name + ' port ' + port + ' to ' + s.remoteAddress + '\\n');
  }).listen({ port: Number(port), host: '::', ipv6Only: false }, () => {
    if (++ready === ports.length) console.log('ready');
  });
}
`;

/** argv: host port timeoutMs — prints the server's line; exit 0 ok, 2 timeout, 3 refused/error (reason on stderr). */
export const TCP_CLIENT_JS = `
const net = require('node:net');
const [host, port, timeoutMs] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let data = '';
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, Number(timeoutMs));
s.on('data', (d) => (data += d));
s.on('end', () => { clearTimeout(timer); process.stdout.write(data); process.exit(0); });
s.on('error', (e) => { clearTimeout(timer); console.error(e.code || e.message); process.exit(3); });
`;

export type TcpOutcome =
  { ok: true; reply: string } | { ok: false; reason: 'timeout' | 'refused' | 'error'; detail: string };

/** argv: port — UDP: answers every datagram with the sender's `address:port` (a tiny STUN). */
export const UDP_REFLECTOR_JS = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(r.address + ':' + r.port, r.port, r.address));
s.bind(Number(process.argv[1]), () => console.log('ready'));
`;

/** argv: localPort timeoutMs host:port... — from one socket, asks each reflector; prints one answer per line. */
export const UDP_PROBE_JS = `
const s = require('node:dgram').createSocket('udp4');
const [localPort, timeoutMs, ...targets] = process.argv.slice(1);
const answers = new Map();
setTimeout(() => { console.error('timeout'); process.exit(2); }, Number(timeoutMs));
s.on('message', (m, r) => {
  answers.set(r.address + ':' + r.port, String(m));
  if (answers.size === targets.length) { for (const t of targets) console.log(answers.get(t)); process.exit(0); }
});
s.bind(Number(localPort), () => { for (const t of targets) { const [h, p] = t.split(':'); s.send('?', Number(p), h); } });
`;

/**
 * argv: host port everyMs timeoutMs — opens a new TCP connection every `everyMs` (overlapping,
 * each given `timeoutMs`), and prints one JSON line per connection when it ends:
 * `{"opened":ms,"ended":ms,"reply":"..."}` on success, `"error"` instead of `"reply"` otherwise
 * (times are the system clock's, Date.now()). One process for the whole run: a failover timed
 * by new connections must not also time a process start per try.
 */
export const TCP_PROBER_JS = `
const net = require('node:net');
const [host, port, everyMs, timeoutMs] = process.argv.slice(1);
const report = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
setInterval(() => {
  const opened = Date.now();
  const s = net.connect({ host, port: Number(port) });
  let data = '';
  const timer = setTimeout(() => { s.destroy(); report({ opened, ended: Date.now(), error: 'timeout' }); }, Number(timeoutMs));
  s.on('data', (d) => (data += d));
  s.on('end', () => { clearTimeout(timer); report({ opened, ended: Date.now(), reply: data.trim() }); });
  s.on('error', (e) => { clearTimeout(timer); report({ opened, ended: Date.now(), error: e.code || e.message }); });
}, Number(everyMs));
console.error('probing');
`;

/** One connection TCP_PROBER_JS reported. */
export interface ProbedConnection {
  opened: number;
  ended: number;
  reply?: string;
  error?: string;
}
