// The peer protocol's constants: paths, headers, content type, and how ids travel in headers
// (lowercase hex without padding, as etcd prints member and cluster ids).
import { MessageType, type NodeId } from '../raft/messages.js';

export const MESSAGES_PATH = '/raft/messages';
export const SNAPSHOT_PATH = '/raft/snapshot';
export const PROBE_PATH = '/raft/probe';

export const CONTENT_TYPE = 'application/x-msgpack';

// Node lower-cases incoming header names; undici sends them as given.
export const HEADER_CLUSTER_ID = 'x-etcd-cluster-id';
export const HEADER_FROM = 'x-server-from';
export const HEADER_SERVER_VERSION = 'x-server-version';

/** etcd's rafthttp text for a request from another cluster (answered with 412). */
export const CLUSTER_ID_MISMATCH_TEXT = 'etcdserver: cluster ID mismatch';

/** The version peers announce; the runtime passes etcd-ts's etcd-compatible server version. */
export const DEFAULT_SERVER_VERSION = '2.3.8';

export function formatId(id: number): string {
  return id.toString(16);
}

/** Parses a hex id header; undefined unless it is a positive integer within 53 bits. */
export function parseId(text: string | string[] | undefined): NodeId | undefined {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{1,14}$/.test(text)) return undefined;
  const id = Number.parseInt(text, 16);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/**
 * A follower forwards a ReadIndex request or a leadership-transfer request to the leader with its
 * original sender kept (as etcd-io/raft does), so the leader answers the member that asked: these
 * two types may travel in a batch from another member.
 */
export function isForwardedRequest(type: MessageType): boolean {
  return type === MessageType.MsgReadIndex || type === MessageType.MsgTransferLeader;
}
