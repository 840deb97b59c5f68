// CRC-32 (IEEE, as zlib and etcd's WAL records use) over every stored value, so a flipped bit in a
// value is detected at open instead of being replayed into the log. crc32(b, crc32(a)) is the CRC of
// a followed by b (zlib's crc32(data, value)), so a checksum over a header and a large body needs
// no copy of the two into one buffer.
import zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, previous?: number) => number;

function tableCrc32(): Crc32Fn {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (data, previous = 0) => {
    let crc = (previous ^ 0xffffffff) >>> 0;
    for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
}

// zlib.crc32 exists from Node 20.15; the table version covers older 20.x releases.
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export const crc32: Crc32Fn = typeof native === 'function' ? (data, previous = 0) => native(data, previous) >>> 0 : tableCrc32();

/** Bytes checksummed between two pauses by crc32Pieces (about a millisecond of CPU). */
export const CRC_SLICE_BYTES = 4 << 20;

/**
 * The CRC-32 of the pieces one after the other (continuing `previous`), awaiting `pause` (if any)
 * after each CRC_SLICE_BYTES: a checksum over hundreds of MB does not hold the event loop.
 */
export async function crc32Pieces(pieces: readonly Uint8Array[], previous = 0, pause?: () => Promise<void>): Promise<number> {
  let crc = previous;
  let sinceFlush = 0;
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; ) {
      const n = Math.min(piece.length - at, CRC_SLICE_BYTES - sinceFlush);
      crc = crc32(piece.subarray(at, at + n), crc);
      at += n;
      sinceFlush += n;
      if (sinceFlush === CRC_SLICE_BYTES) {
        sinceFlush = 0;
        if (pause !== undefined) await pause();
      }
    }
  }
  return crc;
}
