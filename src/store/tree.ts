// The key tree: lookups along a path, implicit parent directories, attaching and removing nodes
// while keeping the TTL heap in step. O(depth) per lookup (Map children).
//
// Every change to a node goes through this class (ensureDir, attach, removeSubtree, setExpiration,
// setValue), so a TreeFreeze can keep a copy-on-write view of the tree as it was when it was
// frozen: before the first change to a node that existed then, the freeze keeps that node's old
// fields and, for a directory, its children in their order. A snapshot is then serialised from the
// frozen view in slices while writes go on applying to the live tree.
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

/** A node's fields as they were when the tree was frozen (kept before the first change after). */
export interface FrozenFields {
  readonly value: string;
  readonly modifiedIndex: number;
  readonly expirationMs: number;
  /** A directory's children in their insertion order; null for a file. */
  readonly children: readonly StoreNode[] | null;
}

/**
 * A copy-on-write view of a KeyTree at the store index it was frozen at (KeyTree.freeze): O(1) to
 * take; afterwards each node that existed then keeps, on its first change, a copy of its old
 * fields (fields()), so that reading through the view gives the tree as it was, whatever was
 * applied since. Memory: at most one FrozenFields per node of the frozen tree (a directory's copy
 * holds its children's references), kept until the view is released.
 */
export class TreeFreeze {
  private readonly kept = new Map<StoreNode, FrozenFields>();
  private released = false;

  constructor(
    readonly root: StoreNode,
    /** The store index at the freeze: a node created later has a higher createdIndex. */
    readonly index: number,
    private readonly onRelease: (freeze: TreeFreeze) => void,
  ) {}

  /** Called before `node` changes: keeps its fields as the view sees them. */
  keep(node: StoreNode): void {
    // A node created after the freeze is in no directory's frozen children: never read through the view.
    if (node.createdIndex > this.index || this.kept.has(node)) return;
    this.kept.set(node, {
      value: node.value,
      modifiedIndex: node.modifiedIndex,
      expirationMs: node.expirationMs,
      children: node.children === null ? null : [...node.children.values()],
    });
  }

  /** The node's frozen fields when it changed since the freeze; undefined when the live node still is the frozen one. */
  fields(node: StoreNode): FrozenFields | undefined {
    return this.kept.get(node);
  }

  /** How many nodes changed since the freeze (each kept once). */
  keptCount(): number {
    return this.kept.size;
  }

  /** Ends the view: the tree stops keeping copies (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.kept.clear();
    this.onRelease(this);
  }
}

export class KeyTree {
  readonly root: StoreNode = StoreNode.dir('/', '', null, 0, PERMANENT);
  readonly ttlHeap = new TtlHeap();
  /** The view a snapshot is being serialised from, if any (at most one at a time). */
  private frozen: TreeFreeze | null = null;

  /**
   * A copy-on-write view of the tree as it is now, at store index `index`, until release(). One
   * at a time: a second freeze before the first is released is a bug.
   */
  freeze(index: number): TreeFreeze {
    if (this.frozen !== null) throw new Error('KeyTree: already frozen (one snapshot at a time)');
    const view = new TreeFreeze(this.root, index, (v) => {
      if (this.frozen === v) this.frozen = null;
    });
    this.frozen = view;
    return view;
  }

  /** etcd's file write in place: a new value (unless a refresh) and modifiedIndex. */
  setValue(node: StoreNode, value: string, modifiedIndex: number): void {
    this.frozen?.keep(node);
    node.value = value;
    node.modifiedIndex = modifiedIndex;
  }

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
        this.frozen?.keep(node);
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
    this.frozen?.keep(parent);
    parent.addChild(node);
    if (!node.isPermanent()) this.ttlHeap.push(node);
  }

  /**
   * Removes a node and everything below it. `onRemoved` sees every removed path children-first
   * (etcd's Remove callback, which notifies the watchers of each removed key).
   */
  removeSubtree(node: StoreNode, onRemoved: ((path: string) => void) | null): void {
    if (node.parent === null) throw new Error('KeyTree: the root cannot be removed');
    // (Only the parent changes: the removed nodes keep their fields, and the view reads them still.)
    this.frozen?.keep(node.parent);
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
    if (expirationMs !== node.expirationMs) this.frozen?.keep(node);
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
