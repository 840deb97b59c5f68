// The etcd v2 store as a deterministic state machine: apply(request) -> event, in log order, on
// every member. apply reads no clock and no randomness: TTLs come as absolute expirations and expiry
// itself is a SYNC request carrying the proposer's clock. Reads (get) and watches are local.
// Behaviour follows etcd 3.4's v2store (store.go) and, where they differ, what the real etcd answers.
import type { V2Request } from './command.js';
import { ErrorCode, EtcdError } from './errors.js';
import type { NodeExtern, V2Event } from './event.js';
import { EventHistory } from './history.js';
import { cleanPath, joinKey } from './keys.js';
import { MAX_EXPIRATION_MS, PERMANENT, StoreNode } from './node.js';
import { nodeSnapshot, nodeSnapshotAt, listing, removalNode } from './repr.js';
import { decodeSnapshot, encodeSnapshot, SnapshotEncoder, type DecodedSnapshot, type SliceBudget, type SnapshotInput } from './snapshot.js';
import { readStats, withWatchers, zeroStats, type CountedStat, type StatCounters, type StoreStats } from './stats.js';
import { KeyTree, PathMiss } from './tree.js';
import { verifyTree } from './verify.js';
import { HubWatcher, WatcherHub, type Watcher } from './watchers.js';

export type { StoreStats } from './stats.js';
export type { Watcher, WatchListener } from './watchers.js';

export type ApplyResult = { ok: true; event: V2Event | null /* null only for SYNC */ } | { ok: false; error: EtcdError };

export type WatchResult = { ok: true; watcher: Watcher } | { ok: false; error: EtcdError };

export interface StoreOptions {
  /** Events kept for waitIndex (etcd: 1000). */
  historyCapacity?: number;
  /** Live watchers at most; over it watch() fails with an EtcdError. */
  maxWatchers?: number;
}

const DEFAULT_HISTORY_CAPACITY = 1000;
const DEFAULT_MAX_WATCHERS = 10_000;

/** etcd treats expirations before 2000-01-01 as "permanent" when creating a node. */
const MIN_EXPIRATION_MS = Date.UTC(2000, 0, 1);

/** Name of the in-order key a POST creates at `index`: the index, zero-padded to 20 digits. */
function inOrderName(index: number): string {
  return String(index).padStart(20, '0');
}

type OpResult = V2Event | EtcdError;

export class Store {
  // tree and history are replaced whole by restoreFrom; the hub (the live watchers) never is.
  private tree = new KeyTree();
  private history: EventHistory;
  private readonly hub: WatcherHub;
  private counters: StatCounters = zeroStats();
  private currentIndex = 0;

  constructor(options: StoreOptions = {}) {
    this.history = new EventHistory(options.historyCapacity ?? DEFAULT_HISTORY_CAPACITY);
    this.hub = new WatcherHub(options.maxWatchers ?? DEFAULT_MAX_WATCHERS);
  }

  /** Current etcd index. */
  index(): number {
    return this.currentIndex;
  }

  /** Applies one committed request; a pure function of the sequence of requests applied so far. */
  apply(req: V2Request): ApplyResult {
    assertRequest(req);
    const path = cleanPath(req.path);
    try {
      const result = this.dispatch(req, path);
      if (result === null) return { ok: true, event: null };
      if (result instanceof EtcdError) return { ok: false, error: result };
      return { ok: true, event: result };
    } finally {
      this.hub.dispatch();
    }
  }

  /**
   * Records one of etcd's own writes (a member's raft attributes or published attributes, the
   * cluster version), which etcd keeps in this same store outside the keys namespace: it consumes
   * an etcd index and enters the history like any event, but its key has no leading '/', so no
   * keys-API read or watch can ever match it. Deterministic, like apply.
   */
  applyInternal(key: string, value: string): void {
    if (key.startsWith('/') || key.length === 0) throw new Error(`Store.applyInternal: internal keys have no leading '/': ${JSON.stringify(key)}`);
    const index = this.currentIndex + 1;
    this.currentIndex = index;
    this.history.add({ action: 'set', node: { key, value, modifiedIndex: index, createdIndex: index }, index });
  }

  /** A read of the local store (action 'get'); `ttl` fields are computed from nowMs. */
  get(path: string, recursive: boolean, sorted: boolean, nowMs: number): ApplyResult {
    const node = this.tree.lookup(cleanPath(path));
    if (node instanceof PathMiss) {
      this.count('getsFail');
      return { ok: false, error: node.toError(this.currentIndex) };
    }
    this.count('getsSuccess');
    const event: V2Event = { action: 'get', node: listing(node, recursive, sorted, nowMs), index: this.currentIndex };
    return { ok: true, event };
  }

  /**
   * etcd's Watch: sinceIndex 0 means the next event. A sinceIndex inside the history is answered from
   * it when an event matches (the watcher then is not registered); older than the history is 401.
   */
  watch(path: string, options: { recursive: boolean; stream: boolean; sinceIndex: number }): WatchResult {
    if (!Number.isSafeInteger(options.sinceIndex) || options.sinceIndex < 0) {
      throw new Error(`Store.watch: bad sinceIndex ${options.sinceIndex}`);
    }
    const key = cleanPath(path);
    const sinceIndex = options.sinceIndex === 0 ? this.currentIndex + 1 : options.sinceIndex;
    const hit = this.history.scan(key, options.recursive, sinceIndex, this.currentIndex);
    if (hit instanceof EtcdError) return { ok: false, error: hit };
    const watcher = new HubWatcher(key, options.recursive, options.stream, sinceIndex, this.currentIndex);
    if (hit !== null) {
      watcher.deliverFromHistory(hit);
      return { ok: true, watcher };
    }
    if (!this.hub.register(watcher)) {
      const cause = `too many watchers (at most ${this.hub.maxWatchers})`;
      return { ok: false, error: new EtcdError(ErrorCode.RaftInternal, cause, this.currentIndex) };
    }
    return { ok: true, watcher };
  }

  stats(): StoreStats {
    return withWatchers(this.counters, this.hub.count());
  }

  /**
   * etcd quirk: every /v2/keys request first reads its auth flag (/2/enabled) from the store, which
   * counts as a get. Until the first auth write creates that record the read fails (getsFail, what
   * a fresh etcd shows); from then on it succeeds (getsSuccess), whether auth is enabled or not.
   */
  recordKeysRequest(authRecordExists = false): void {
    this.count(authRecordExists ? 'getsSuccess' : 'getsFail');
  }

  /** Earliest expiration among live nodes; the leader proposes SYNC when it is due. */
  nextExpirationMs(): number | null {
    return this.tree.ttlHeap.top()?.expirationMs ?? null;
  }

  /** Whether any live node has a TTL (etcd's HasTTLKeys: the leader syncs only then). */
  hasTtlKeys(): boolean {
    return this.tree.ttlHeap.size() > 0;
  }

  /** Checks every structural invariant (O(n)); throws on the first violation. For tests and debugging. */
  verify(): void {
    verifyTree(this.tree, this.currentIndex);
    if (this.history.newestIndex() > this.currentIndex) throw new Error('store invariant violated: history runs past the index');
  }

  /**
   * The whole replicated state (tree, index, history) plus the stats, for raft snapshots. With
   * `readCounts: false` the counters reads move (getsSuccess, getsFail: this member's own reads)
   * are saved as 0, so that members that applied the same log save the same bytes whatever reads
   * they served.
   */
  save(options: { readCounts?: boolean } = {}): Uint8Array {
    return encodeSnapshot(this.saveInput(options));
  }

  /**
   * What save() returns, encoded in slices while the store goes on applying (StoreSave.step): the
   * tree is frozen now (O(1), copy-on-write: KeyTree.freeze), the history, index and stats are
   * copied now, so the bytes are exactly the state at index() as of this call. One at a time per
   * store; release the job (StoreSave.release) if it is dropped before its end.
   */
  beginSave(options: { readCounts?: boolean } = {}): StoreSave {
    const input = this.saveInput(options);
    return new StoreSave(new SnapshotEncoder(input, this.tree.freeze(input.index)));
  }

  private saveInput(options: { readCounts?: boolean }): SnapshotInput {
    const stats = { ...this.counters };
    if (options.readCounts === false) for (const name of readStats) stats[name] = 0;
    return {
      index: this.currentIndex,
      historyCapacity: this.history.capacity,
      root: this.tree.root,
      history: this.history.events(),
      stats,
    };
  }

  /**
   * Decodes and checks what save() wrote, building its tree, TTL heap and history aside: nothing
   * of any store changes. Throws an Error on bytes this code did not write. For restoring several
   * parts together (MemberStateMachine.restore): decode them all, then restore each.
   */
  static decodeSaved(data: Uint8Array): DecodedSnapshot {
    return decodeSnapshot(data);
  }

  /**
   * Replaces this store's state, in place, with a saved one (etcd's v2store Recovery): the tree,
   * the index, the history (with the saved capacity) and the stats counters are the snapshot's;
   * the TTL heap is rebuilt from the saved tree. The watcher hub is kept, as etcd keeps its
   * WatcherHub: a registered watcher stays registered and is offered the events applied from now
   * on (those at or after its waitIndex, as always; what happened between the state it last saw
   * and the snapshot is not replayed, as in etcd). With `keepReadCounts` the counters reads move
   * stay this store's (the pair of save's `readCounts: false`). Bytes are decoded and checked in
   * full first: on bad input this throws and the store is unchanged.
   */
  restoreFrom(saved: Uint8Array | DecodedSnapshot, options: { keepReadCounts?: boolean } = {}): void {
    const decoded = saved instanceof Uint8Array ? decodeSnapshot(saved) : saved;
    const { tree, history } = decoded.take();
    const counters = { ...decoded.stats };
    if (options.keepReadCounts === true) for (const name of readStats) counters[name] = this.counters[name];
    this.tree = tree;
    this.history = history;
    this.currentIndex = decoded.index;
    this.counters = counters;
  }

  /** A new store in the saved state, with no watchers. */
  static recover(data: Uint8Array, options: { maxWatchers?: number } = {}): Store {
    const store = new Store({ maxWatchers: options.maxWatchers });
    store.restoreFrom(data);
    return store;
  }

  private dispatch(req: V2Request, path: string): OpResult | null {
    const cmp = req.prevValue !== '' || req.prevIndex > 0;
    switch (req.method) {
      case 'POST':
        return this.counted('create', this.create(path, req, true));
      case 'PUT':
        if (req.prevExist === false) return this.counted('create', this.create(path, req, false));
        if (cmp) return this.compareAndSwap(path, req);
        if (req.prevExist === true) return this.update(path, req);
        return this.counted('sets', this.set(path, req));
      case 'DELETE':
        return cmp ? this.compareAndDelete(path, req) : this.delete(path, req);
      case 'SYNC':
        this.expire(req.time);
        return null;
    }
  }

  /** etcd's Set: creates or replaces (a new node: createdIndex resets). refresh keeps the value. */
  private set(path: string, req: V2Request): OpResult {
    const existing = this.tree.lookup(path);
    if (existing instanceof PathMiss && existing.errorCode !== ErrorCode.KeyNotFound) return existing.toError(this.currentIndex);
    let value = req.val;
    if (req.refresh) {
      if (existing instanceof PathMiss) return existing.toError(this.currentIndex);
      value = existing.value;
    }
    const ev = this.createNode(path, req.dir, value, false, true, req.expiration, 'set', req.time);
    if (ev instanceof EtcdError) return ev;
    this.publish(ev, req.refresh);
    return ev;
  }

  /** etcd's Create (PUT prevExist=false, POST): 105 when the key exists. `unique` (POST) names the key by its index. */
  private create(path: string, req: V2Request, unique: boolean): OpResult {
    const ev = this.createNode(path, req.dir, req.val, unique, false, req.expiration, 'create', req.time);
    if (ev instanceof EtcdError) return ev;
    this.publish(ev, false);
    return ev;
  }

  /** etcd's internalCreate. One index for the node and every implicit parent directory. */
  private createNode(
    requestedPath: string,
    dir: boolean,
    value: string,
    unique: boolean,
    replace: boolean,
    requestedExpirationMs: number,
    action: 'set' | 'create',
    nowMs: number,
  ): OpResult {
    const currIndex = this.currentIndex;
    const nextIndex = currIndex + 1;
    const path = unique ? joinKey(requestedPath, inOrderName(nextIndex)) : requestedPath;
    if (path === '/') return new EtcdError(ErrorCode.RootROnly, '/', currIndex);
    const expirationMs = requestedExpirationMs < MIN_EXPIRATION_MS ? PERMANENT : requestedExpirationMs;
    const slash = path.lastIndexOf('/');
    const dirPath = slash === 0 ? '/' : path.slice(0, slash);
    const name = path.slice(slash + 1);

    const parent = this.tree.ensureDir(dirPath, nextIndex);
    if (parent instanceof PathMiss) {
      this.count('setsFail'); // etcd's internalCreate counts a failed walk as a failed set, whatever the op
      return parent.toError(currIndex);
    }
    const existing = parent.dirChildren().get(name);
    let prevNode: NodeExtern | undefined;
    if (existing !== undefined) {
      if (!replace) return new EtcdError(ErrorCode.NodeExist, path, currIndex);
      if (existing.isDir()) return new EtcdError(ErrorCode.NotFile, path, currIndex);
      prevNode = nodeSnapshot(existing, nowMs);
      this.tree.removeSubtree(existing, null); // replaced, not deleted: watchers see only the set
    }
    const node = dir
      ? StoreNode.dir(path, name, parent, nextIndex, expirationMs)
      : StoreNode.file(path, name, parent, nextIndex, value, expirationMs);
    this.tree.attach(node);
    this.currentIndex = nextIndex;
    const ev: V2Event = { action, node: nodeSnapshot(node, nowMs), index: nextIndex };
    if (prevNode !== undefined) ev.prevNode = prevNode;
    return ev;
  }

  /** etcd's Update (PUT prevExist=true): keeps createdIndex; on a directory only the TTL changes. */
  private update(path: string, req: V2Request): OpResult {
    // etcd returns these two failures without marking them failed: they count as successes.
    if (path === '/') return this.counted('updateQuirk', new EtcdError(ErrorCode.RootROnly, '/', this.currentIndex));
    const node = this.tree.lookup(path);
    if (node instanceof PathMiss) return this.counted('update', node.toError(this.currentIndex));
    if (node.isDir() && req.val !== '') return this.counted('updateQuirk', new EtcdError(ErrorCode.NotFile, path, this.currentIndex));
    return this.counted('update', this.modify(node, req, 'update'));
  }

  /** etcd's CompareAndSwap (PUT with prevValue and/or prevIndex). */
  private compareAndSwap(path: string, req: V2Request): OpResult {
    if (path === '/') return this.counted('compareAndSwapQuirk', new EtcdError(ErrorCode.RootROnly, '/', this.currentIndex));
    const node = this.tree.lookup(path);
    if (node instanceof PathMiss) return this.counted('compareAndSwap', node.toError(this.currentIndex));
    if (node.isDir()) return this.counted('compareAndSwap', new EtcdError(ErrorCode.NotFile, path, this.currentIndex));
    const cause = compareFailure(node, req.prevValue, req.prevIndex, req.prevIndexText);
    if (cause !== null) return this.counted('compareAndSwap', new EtcdError(ErrorCode.TestFailed, cause, this.currentIndex));
    return this.counted('compareAndSwap', this.modify(node, req, 'compareAndSwap'));
  }

  /**
   * The write of an update or compare-and-swap, in place: createdIndex is kept, a refresh keeps the
   * value, and a directory (update only) changes only its TTL.
   */
  private modify(node: StoreNode, req: V2Request, action: 'update' | 'compareAndSwap'): V2Event {
    const nextIndex = this.currentIndex + 1;
    const prevNode = nodeSnapshot(node, req.time);
    // A directory keeps its modifiedIndex, though the event reports the new one (etcd quirk).
    if (!node.isDir()) this.tree.setValue(node, req.refresh ? node.value : req.val, nextIndex);
    this.tree.setExpiration(node, req.expiration);
    this.currentIndex = nextIndex;
    const ev: V2Event = { action, node: nodeSnapshotAt(node, req.time, nextIndex), prevNode, index: nextIndex };
    this.publish(ev, req.refresh);
    return ev;
  }

  /** etcd's Delete: a directory needs dir (empty) or recursive; recursive implies dir. */
  private delete(path: string, req: V2Request): OpResult {
    if (path === '/') return this.counted('deleteQuirk', new EtcdError(ErrorCode.RootROnly, '/', this.currentIndex));
    const node = this.tree.lookup(path);
    if (node instanceof PathMiss) return this.counted('delete', node.toError(this.currentIndex));
    if (node.isDir()) {
      const dir = req.dir || req.recursive;
      if (!dir) return this.counted('delete', new EtcdError(ErrorCode.NotFile, node.path, this.currentIndex));
      if (node.dirChildren().size > 0 && !req.recursive) {
        return this.counted('delete', new EtcdError(ErrorCode.DirNotEmpty, node.path, this.currentIndex));
      }
    }
    return this.counted('delete', this.removeWithEvent(node, 'delete', req.time));
  }

  /** etcd's CompareAndDelete: files only. */
  private compareAndDelete(path: string, req: V2Request): OpResult {
    const node = this.tree.lookup(path);
    if (node instanceof PathMiss) return this.counted('compareAndDelete', node.toError(this.currentIndex));
    // etcd returns the next two failures without marking them failed: they count as successes.
    // On the root, etcd's cause is its internal "/1" with the "/1" prefix trimmed: no cause at all.
    if (node.isDir()) {
      return this.counted('compareAndDeleteQuirk', new EtcdError(ErrorCode.NotFile, path === '/' ? '' : path, this.currentIndex));
    }
    const cause = compareFailure(node, req.prevValue, req.prevIndex, req.prevIndexText);
    if (cause !== null) return this.counted('compareAndDeleteQuirk', new EtcdError(ErrorCode.TestFailed, cause, this.currentIndex));
    return this.counted('compareAndDelete', this.removeWithEvent(node, 'compareAndDelete', req.time));
  }

  /** etcd's DeleteExpiredKeys: one expire event, with its own index, per node due at cutoffMs. */
  private expire(cutoffMs: number): void {
    for (;;) {
      const node = this.tree.ttlHeap.top();
      if (node === null || node.expirationMs > cutoffMs) return;
      this.removeWithEvent(node, 'expire', cutoffMs);
      this.count('expireCount');
    }
  }

  private removeWithEvent(node: StoreNode, action: 'delete' | 'compareAndDelete' | 'expire', nowMs: number): V2Event {
    const index = this.currentIndex + 1;
    const ev: V2Event = { action, node: removalNode(node, index), prevNode: nodeSnapshot(node, nowMs), index };
    this.tree.removeSubtree(node, this.hub.count() === 0 ? null : (removed) => this.hub.notifyRemoved(ev, removed));
    this.currentIndex = index;
    this.publish(ev, false);
    return ev;
  }

  /** Records the event; a refresh is history only, never offered to watchers. */
  private publish(ev: V2Event, refresh: boolean): void {
    if (refresh) ev.refresh = true;
    this.history.add(ev);
    if (!refresh) this.hub.notify(ev);
  }

  private counted(op: CountedOp, result: OpResult): OpResult {
    this.count(statFor(op, result instanceof EtcdError));
    return result;
  }

  private count(stat: CountedStat): void {
    this.counters[stat]++;
  }
}

/** A store's save in progress (Store.beginSave): its bytes as of the call, whatever is applied since. */
export class StoreSave {
  private done = false;

  constructor(private readonly encoder: SnapshotEncoder) {}

  /** Encodes about one budget's worth; true once done (the tree's freeze is then released). */
  step(budget: SliceBudget): boolean {
    if (this.done) return true;
    this.done = this.encoder.step(budget);
    if (this.done) this.encoder.release();
    return this.done;
  }

  /** The saved store, as pieces to concatenate; only once step() returned true. */
  pieces(): readonly Uint8Array[] {
    return this.encoder.pieces();
  }

  /** Drops the job: the tree stops keeping copies for it (idempotent). */
  release(): void {
    this.encoder.release();
  }
}

type CountedOp =
  | 'create'
  | 'sets'
  | 'update'
  | 'updateQuirk'
  | 'compareAndSwap'
  | 'compareAndSwapQuirk'
  | 'delete'
  | 'deleteQuirk'
  | 'compareAndDelete'
  | 'compareAndDeleteQuirk';

/** Which counter an operation's outcome moves; the "quirk" failures count as successes in etcd. */
function statFor(op: CountedOp, failed: boolean): CountedStat {
  switch (op) {
    case 'create':
      return failed ? 'createFail' : 'createSuccess';
    case 'sets':
      return failed ? 'setsFail' : 'setsSuccess';
    case 'update':
      return failed ? 'updateFail' : 'updateSuccess';
    case 'updateQuirk':
      return 'updateSuccess';
    case 'compareAndSwap':
      return failed ? 'compareAndSwapFail' : 'compareAndSwapSuccess';
    case 'compareAndSwapQuirk':
      return 'compareAndSwapSuccess';
    case 'delete':
      return failed ? 'deleteFail' : 'deleteSuccess';
    case 'deleteQuirk':
      return 'deleteSuccess';
    case 'compareAndDelete':
      return failed ? 'compareAndDeleteFail' : 'compareAndDeleteSuccess';
    case 'compareAndDeleteQuirk':
      return 'compareAndDeleteSuccess';
  }
}

/** etcd's compare failure cause, or null when the node matches (an absent condition always matches). */
function compareFailure(node: StoreNode, prevValue: string, prevIndex: number, prevIndexText = String(prevIndex)): string | null {
  const valueMatch = prevValue === '' || node.value === prevValue;
  const indexMatch = prevIndex === 0 || node.modifiedIndex === prevIndex;
  if (valueMatch && indexMatch) return null;
  if (!indexMatch && valueMatch) return `[${prevIndexText} != ${node.modifiedIndex}]`;
  if (!valueMatch && indexMatch) return `[${prevValue} != ${node.value}]`;
  return `[${prevValue} != ${node.value}] [${prevIndexText} != ${node.modifiedIndex}]`;
}

/** A committed request that violates the command contract is a bug upstream: fail loudly. */
function assertRequest(req: V2Request): void {
  const methodOk = req.method === 'PUT' || req.method === 'POST' || req.method === 'DELETE' || req.method === 'SYNC';
  if (!methodOk) throw new Error(`Store.apply: unknown method ${String(req.method)}`);
  if (typeof req.path !== 'string' || typeof req.val !== 'string' || typeof req.prevValue !== 'string') {
    throw new Error('Store.apply: path, val and prevValue must be strings');
  }
  if (!Number.isSafeInteger(req.prevIndex) || req.prevIndex < 0) throw new Error(`Store.apply: bad prevIndex ${req.prevIndex}`);
  // Checked before anything changes: rendering an unrepresentable expiration would throw mid-write.
  if (!(req.expiration >= 0 && req.expiration <= MAX_EXPIRATION_MS)) throw new Error(`Store.apply: bad expiration ${req.expiration}`);
  if (!Number.isFinite(req.time)) throw new Error(`Store.apply: bad time ${req.time}`);
  if (req.prevExist !== null && typeof req.prevExist !== 'boolean') throw new Error('Store.apply: bad prevExist');
}
