// The key tree: lookups along a path, implicit parent directories, attaching and removing nodes
// while keeping the TTL heap in step. O(depth) per lookup (Map children).
import { ErrorCode, EtcdError } from './errors.js';
import { PERMANENT, StoreNode } from './node.js';
import { TtlHeap } from './ttl-heap.js';

/**
 * Why a path does not lead to a node: 100 (the first missing component) or 104 (the file a component
 * runs through). A plain value, turned into an EtcdError only when it is the answer: set and create
 * meet a miss on every new key, and an Error is costly to build.
 */
export class PathMiss {
  constructor(
    readonly errorCode: typeof ErrorCode.KeyNotFound | typeof ErrorCode.NotDir,
    readonly cause: string,
  ) {}

  toError(storeIndex: number): EtcdError {
    return new EtcdError(this.errorCode, this.cause, storeIndex);
  }
}

export class KeyTree {
  readonly root: StoreNode = StoreNode.dir('/', '', null, 0, PERMANENT);
  readonly ttlHeap = new TtlHeap();

  /**
   * etcd's internalGet: the node at a canonical path; 100 with the first missing component as
   * cause, or 104 with the file a component runs through as cause.
   */
  lookup(path: string): StoreNode | PathMiss {
    let node = this.root;
    if (path === '/') return node;
    let start = 1;
    while (start <= path.length) {
      let end = path.indexOf('/', start);
      if (end === -1) end = path.length;
      const children = node.children;
      if (children === null) return new PathMiss(ErrorCode.NotDir, node.path);
      const child = children.get(path.slice(start, end));
      if (child === undefined) return new PathMiss(ErrorCode.KeyNotFound, path.slice(0, end));
      node = child;
      start = end + 1;
    }
    return node;
  }

  /**
   * etcd's walk with checkDir: the directory at a canonical path, creating missing directories
   * (permanent, created at `createdIndex`) on the way; 104 when a component is a file.
   */
  ensureDir(dirPath: string, createdIndex: number): StoreNode | PathMiss {
    let node = this.root;
    if (dirPath === '/') return node;
    let start = 1;
    while (start <= dirPath.length) {
      let end = dirPath.indexOf('/', start);
      if (end === -1) end = dirPath.length;
      const name = dirPath.slice(start, end);
      const children = node.dirChildren();
      let child = children.get(name);
      if (child === undefined) {
        // A prefix of the request's own path string: V8 shares its characters.
        child = StoreNode.dir(dirPath.slice(0, end), name, node, createdIndex, PERMANENT);
        node.addChild(child);
      } else if (!child.isDir()) {
        return new PathMiss(ErrorCode.NotDir, child.path);
      }
      node = child;
      start = end + 1;
    }
    return node;
  }

  /** Adds a fresh node under its parent and, when it has a TTL, to the heap. */
  attach(node: StoreNode): void {
    const parent = node.parent;
    if (parent === null) throw new Error(`KeyTree: ${node.path} has no parent`);
    // (That node.path extends parent.path is checked by verify(): comparing paths here would flatten
    // the concatenated paths of a recovered deep tree, quadratic in its depth.)
    parent.addChild(node);
    if (!node.isPermanent()) this.ttlHeap.push(node);
  }

  /**
   * Removes a node and everything below it. `onRemoved` sees every removed path children-first
   * (etcd's Remove callback, which notifies the watchers of each removed key).
   */
  removeSubtree(node: StoreNode, onRemoved: ((path: string) => void) | null): void {
    if (node.parent === null) throw new Error('KeyTree: the root cannot be removed');
    node.detach();
    if (onRemoved === null && this.ttlHeap.size() === 0) return; // nothing else refers to the subtree
    if (node.children === null || node.children.size === 0) {
      this.ttlHeap.remove(node);
      onRemoved?.(node.path);
      return;
    }
    for (const removed of node.postOrder()) {
      this.ttlHeap.remove(removed);
      onRemoved?.(removed.path);
    }
  }

  /** etcd's UpdateTTL: a new expiration (PERMANENT clears it), keeping the heap in step. */
  setExpiration(node: StoreNode, expirationMs: number): void {
    if (node.isPermanent()) {
      if (expirationMs === PERMANENT) return;
      node.expirationMs = expirationMs;
      this.ttlHeap.push(node);
      return;
    }
    if (expirationMs === PERMANENT) {
      this.ttlHeap.remove(node);
      node.expirationMs = PERMANENT;
      return;
    }
    node.expirationMs = expirationMs;
    this.ttlHeap.update(node);
  }
}
