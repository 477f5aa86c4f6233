/**
 * Tiny DNS programs for lab namespaces (run with `node -e`), written out by hand so they need
 * nothing but Node: a resolver that answers every A query with one address and prints each
 * query it gets (so a test counts them from its output), and a client that asks one query.
 */

/** argv: address port answer-ipv4. Prints `ready`, then `query <name>` for each query. */
export const DNS_RESOLVER_JS = `
const dgram = require('node:dgram');
const [address, port, answer] = process.argv.slice(1);
const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
s.on('message', (q, from) => {
  if (q.length < 12) return;
  let i = 12, labels = [];
  while (i < q.length && q[i] !== 0) { labels.push(q.slice(i + 1, i + 1 + q[i]).toString()); i += q[i] + 1; }
  const question = q.slice(12, i + 5);
  console.log('query ' + labels.join('.'));
  const header = Buffer.from([q[0], q[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...answer.split('.').map(Number)]);
  s.send(Buffer.concat([header, question, rr]), from.port, from.address);
});
s.bind(Number(port), address, () => console.log('ready'));
`;

/** argv: server port name timeoutMs. Prints the first A answer's address; exits 2 on a timeout, 1 on an error. */
export const DNS_QUERY_JS = `
const dgram = require('node:dgram');
const [server, port, name, timeoutMs] = process.argv.slice(1);
const s = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
const id = Math.floor(Math.random() * 65536);
const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const query = Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 1, 0, 1])]);
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, Number(timeoutMs));
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
s.on('message', (m) => {
  if (m.readUInt16BE(0) !== id) return;
  const a = m.slice(m.length - 4);
  console.log(m.readUInt16BE(6) > 0 ? [...a].join('.') : 'rcode ' + (m[3] & 15));
  clearTimeout(timer);
  process.exit(0);
});
s.send(query, Number(port), server, (e) => e && (console.log('error ' + e.code), process.exit(1)));
`;
