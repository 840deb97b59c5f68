// A snapshot whose data lives in its file (<term>-<index>.snap, src/storage/snap-files.ts) and not
// in memory. Raft treats a snapshot's data as opaque bytes, so a member hands raft this small
// stand-in instead of the state's bytes: raft's MemoryStorage then holds a few bytes per snapshot
// whatever the state's size, a MsgSnap raft emits names the file that the transport streams to the
// peer, and a snapshot received from a peer is streamed to a file and handed to raft as a
// reference to it. The member reads the file back only to check a received snapshot and to install
// it (src/server/raft-member.ts).
//
// Format: magic "ETSNPREF" (8) | data length u64 (the state's bytes in the file). A state
// machine's snapshot is a msgpack map and never starts with these bytes. A reference never crosses
// the wire: a peer that sends one as a snapshot's data is refused (the member accepts only the
// references it made itself, src/server/raft-member.ts).
const MAGIC = new TextEncoder().encode('ETSNPREF');
export const SNAPSHOT_REF_BYTES = MAGIC.length + 8;

/** A reference to the snapshot file of the same term and index, whose state is `dataBytes` long. */
export function snapshotRef(dataBytes: number): Uint8Array {
  const ref = new Uint8Array(SNAPSHOT_REF_BYTES);
  ref.set(MAGIC, 0);
  new DataView(ref.buffer).setBigUint64(MAGIC.length, BigInt(dataBytes));
  return ref;
}

export function isSnapshotRef(data: Uint8Array): boolean {
  if (data.length !== SNAPSHOT_REF_BYTES) return false;
  for (let i = 0; i < MAGIC.length; i++) if (data[i] !== MAGIC[i]) return false;
  return true;
}

