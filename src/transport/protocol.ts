// The peer protocol's constants: paths, headers, content type, and how ids travel in headers
// (lowercase hex without padding, as etcd prints member and cluster ids: 64-bit, as bigint).
import { MessageType, type NodeId } from '../raft/messages.js';

export const MESSAGES_PATH = '/raft/messages';
export const SNAPSHOT_PATH = '/raft/snapshot';
export const PROBE_PATH = '/raft/probe';

export const CONTENT_TYPE = 'application/x-msgpack';
/**
 * A snapshot sent as its file (POST /raft/snapshot): a u32 length, the MsgSnap without data
 * (encodeBatch), then the snapshot file as it is on disk (src/storage/snap-files.ts). A release
 * from before answers it 415, and is sent the snapshot in one msgpack body instead.
 */
export const SNAPSHOT_FILE_CONTENT_TYPE = 'application/x-etcd-ts-snapshot-file';

// Node lower-cases incoming header names; undici sends them as given.
export const HEADER_CLUSTER_ID = 'x-etcd-cluster-id';
export const HEADER_FROM = 'x-server-from';
export const HEADER_SERVER_VERSION = 'x-server-version';

/** etcd's rafthttp text for a request from another cluster (answered with 412). */
export const CLUSTER_ID_MISMATCH_TEXT = 'etcdserver: cluster ID mismatch';

/** The version peers announce; the runtime passes etcd-ts's etcd-compatible server version. */
export const DEFAULT_SERVER_VERSION = '2.3.8';

/** etcd's types.ID.String(): lowercase hex without zero padding. */
export function formatId(id: NodeId): string {
  return id.toString(16);
}

const HEX_ID = /^[0-9a-fA-F]{1,16}$/;

/** Parses a hex id header; undefined unless it is a positive 64-bit integer (1 to 16 hex digits). */
export function parseId(text: string | string[] | undefined): NodeId | undefined {
  if (typeof text !== 'string' || !HEX_ID.test(text)) return undefined;
  const id = BigInt(`0x${text}`);
  return id > 0n ? id : undefined;
}

/**
 * A follower forwards a ReadIndex request or a leadership-transfer request to the leader with its
 * original sender kept (as etcd-io/raft does), so the leader answers the member that asked: these
 * two types may travel in a batch from another member.
 */
export function isForwardedRequest(type: MessageType): boolean {
  return type === MessageType.MsgReadIndex || type === MessageType.MsgTransferLeader;
}
