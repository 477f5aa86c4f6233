/**
 * The few messages of the SPIFFE Workload API's JWT profile, encoded by hand (proto3 wire
 * format), so the agent needs no .proto toolchain. Field numbers as in the SPIFFE workload.proto:
 *
 *   message JWTSVIDRequest  { repeated string audience = 1; string spiffe_id = 2; }
 *   message JWTSVIDResponse { repeated JWTSVID svids = 1; }
 *   message JWTSVID         { string spiffe_id = 1; string svid = 2; string hint = 3; }
 *
 * Decoding skips unknown fields of any wire type, as protobuf requires.
 */
export interface JwtSvidRequest {
  audience: string[];
  spiffeId?: string;
}

export interface JwtSvid {
  spiffeId: string;
  svid: string;
  hint?: string;
}

export const FETCH_JWT_SVID = '/SpiffeWorkloadAPI/FetchJWTSVID';

export function encodeJwtSvidRequest(r: JwtSvidRequest): Buffer {
  return Buffer.concat([
    ...r.audience.map((a) => stringField(1, a)),
    ...(r.spiffeId ? [stringField(2, r.spiffeId)] : []),
  ]);
}

export function decodeJwtSvidRequest(buf: Buffer): JwtSvidRequest {
  const r: JwtSvidRequest = { audience: [] };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) r.audience.push(f.bytes.toString('utf8'));
    else if (f.no === 2 && f.bytes) r.spiffeId = f.bytes.toString('utf8');
  }
  return r;
}

export function encodeJwtSvidResponse(svids: readonly JwtSvid[]): Buffer {
  return Buffer.concat(
    svids.map((s) =>
      bytesField(
        1,
        Buffer.concat([
          stringField(1, s.spiffeId),
          stringField(2, s.svid),
          ...(s.hint ? [stringField(3, s.hint)] : []),
        ]),
      ),
    ),
  );
}

export function decodeJwtSvidResponse(buf: Buffer): JwtSvid[] {
  const out: JwtSvid[] = [];
  for (const f of fields(buf)) {
    if (f.no !== 1 || !f.bytes) continue;
    const svid: JwtSvid = { spiffeId: '', svid: '' };
    for (const g of fields(f.bytes)) {
      if (!g.bytes) continue;
      if (g.no === 1) svid.spiffeId = g.bytes.toString('utf8');
      else if (g.no === 2) svid.svid = g.bytes.toString('utf8');
      else if (g.no === 3) svid.hint = g.bytes.toString('utf8');
    }
    out.push(svid);
  }
  return out;
}

// ---- wire format ----

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function bytesField(no: number, data: Buffer): Buffer {
  return Buffer.concat([varint((no << 3) | 2), varint(data.length), data]);
}

function stringField(no: number, s: string): Buffer {
  return bytesField(no, Buffer.from(s, 'utf8'));
}

interface Field {
  no: number;
  /** Length-delimited fields only. */
  bytes?: Buffer;
}

/** The fields of a message; throws on truncated or malformed input. */
function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('protobuf: varint too long');
  };
  while (pos < buf.length) {
    const key = readVarint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (no === 0) throw new Error('protobuf: field number 0');
    if (wire === 0) readVarint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint();
      if (pos + len > buf.length) throw new Error('protobuf: truncated length-delimited field');
      yield { no, bytes: buf.subarray(pos, pos + len) };
      pos += len;
      continue;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
    if (pos > buf.length) throw new Error('protobuf: truncated fixed-width field');
  }
}
