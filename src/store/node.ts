// A node of the v2 tree: a file (a string value) or a directory (children by name), with etcd's
// created/modified indexes and an optional absolute expiration.
import { formatExpiration } from './event.js';
import { isHiddenName } from './keys.js';

/** 0 = permanent (no TTL). */
export const PERMANENT = 0;

/** The latest instant a JS Date (hence formatExpiration) can represent. */
export const MAX_EXPIRATION_MS = 8.64e15;

export class StoreNode {
  /** Full key, e.g. '/a/b'; the root is '/'. */
  readonly path: string;
  /** Last path component; '' for the root. */
  readonly name: string;
  parent: StoreNode | null;
  createdIndex: number;
  modifiedIndex: number;
  /** Absolute Unix time in ms (fractional allowed); PERMANENT when the node has no TTL. */
  expirationMs: number;
  /** The value of a file; always '' for a directory. */
  value: string;
  /** null for a file; insertion-ordered children for a directory. */
  readonly children: Map<string, StoreNode> | null;
  /** Position in the TTL heap, -1 when not in it (permanent nodes never are). */
  heapSlot = -1;
  // Formatting an expiration is the costliest part of rendering a TTL node; it rarely changes.
  private formattedForMs = PERMANENT;
  private formatted = '';

  private constructor(
    path: string,
    name: string,
    parent: StoreNode | null,
    createdIndex: number,
    expirationMs: number,
    value: string,
    children: Map<string, StoreNode> | null,
  ) {
    this.path = path;
    this.name = name;
    this.parent = parent;
    this.createdIndex = createdIndex;
    this.modifiedIndex = createdIndex;
    this.expirationMs = expirationMs;
    this.value = value;
    this.children = children;
  }

  static file(path: string, name: string, parent: StoreNode | null, createdIndex: number, value: string, expirationMs: number): StoreNode {
    return new StoreNode(path, name, parent, createdIndex, expirationMs, value, null);
  }

  static dir(path: string, name: string, parent: StoreNode | null, createdIndex: number, expirationMs: number): StoreNode {
    return new StoreNode(path, name, parent, createdIndex, expirationMs, '', new Map());
  }

  isDir(): boolean {
    return this.children !== null;
  }

  isPermanent(): boolean {
    return this.expirationMs === PERMANENT;
  }

  /** The expiration as etcd prints it; asserts the node has one. */
  expirationText(): string {
    if (this.expirationMs === PERMANENT) throw new Error(`StoreNode: ${this.path} is permanent`);
    if (this.formattedForMs !== this.expirationMs) {
      this.formatted = formatExpiration(this.expirationMs);
      this.formattedForMs = this.expirationMs;
    }
    return this.formatted;
  }

  isHidden(): boolean {
    return isHiddenName(this.name);
  }

  /** The directory's children; asserts it is one. */
  dirChildren(): Map<string, StoreNode> {
    if (this.children === null) throw new Error(`StoreNode: ${this.path} is not a directory`);
    return this.children;
  }

  /** Whether a listing of this directory shows at least one child (hidden ones are not listed). */
  hasVisibleChild(): boolean {
    if (this.children === null) return false;
    for (const child of this.children.values()) if (!child.isHidden()) return true;
    return false;
  }

  /** Attaches a new child; asserts the name is free. */
  addChild(child: StoreNode): void {
    const children = this.dirChildren();
    if (children.has(child.name)) throw new Error(`StoreNode: ${child.path} already exists`);
    if (child.parent !== this) throw new Error(`StoreNode: ${child.path} attached to the wrong parent`);
    children.set(child.name, child);
  }

  /** Detaches this node from its parent (the subtree stays intact). */
  detach(): void {
    const parent = this.parent;
    if (parent === null) throw new Error('StoreNode: the root cannot be detached');
    const children = parent.dirChildren();
    if (children.get(this.name) !== this) throw new Error(`StoreNode: ${this.path} is not attached`);
    children.delete(this.name);
    this.parent = null;
  }

  /**
   * The subtree's nodes children-first (post-order), as etcd's recursive node.Remove visits them.
   * Iterative, so arbitrarily deep trees cannot overflow the stack.
   */
  postOrder(): StoreNode[] {
    const out: StoreNode[] = [];
    const stack: { node: StoreNode; pending: Iterator<StoreNode> | null }[] = [
      { node: this, pending: this.children?.values() ?? null },
    ];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = top.pending?.next();
      if (next !== undefined && next.done !== true) {
        stack.push({ node: next.value, pending: next.value.children?.values() ?? null });
        continue;
      }
      out.push(top.node);
      stack.pop();
    }
    return out;
  }
}
