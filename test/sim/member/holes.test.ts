// The holes issue 9 found in the member runtime, each replayed as a scripted scenario on whole
// members (the real RaftMember, with the simulator's disk, network and clock). Each test failed on
// the code before the fix (commit 0313b88: `git worktree add /tmp/old 0313b88`, copy this folder
// over and run it there); the random schedules that found them are in member-sim.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { MessageType, RaftInvariantError, RawNode, Role, type Message } from '../../../src/raft/index.js';
import { acceptPeerBody } from '../../../src/transport/handler.js';
import { encodeBatch } from '../../../src/transport/wire.js';
import { decodeEntry, decodeHardState } from '../../../src/storage/codec.js';
import { entryKey, HARD_STATE_KEY } from '../../../src/storage/keys.js';
import { v2Request } from '../../../src/store/command.js';
import { Rng } from '../prng.js';
import { FORGERIES, Intruder } from './intruder.js';
import { MemberCluster, type MemberSlot } from './member-cluster.js';
import { simKeyString } from './sim-disk.js';

/** Starts every member and runs until one leads and every member serves clients. */
async function healthyCluster(members: number, seed = 1): Promise<MemberCluster> {
  const c = new MemberCluster({ members, seed, diskMaxLatencyMs: 2 });
  for (const s of c.slots) c.start(s);
  const ok = await c.world.runUntilTrue(() => c.stableLeader() !== undefined && c.running().every((s) => s.member?.isReady() === true), 20_000);
  expect(ok, c.describe()).toBe(true);
  return c;
}

function leaderOf(c: MemberCluster): MemberSlot {
  const l = c.stableLeader();
  if (l === undefined) throw new Error(`no leader: ${c.describe()}`);
  return l;
}

/** Proposes a PUT on `slot` (the leader) and runs until it is answered. */
async function put(c: MemberCluster, slot: MemberSlot, key: string, value: string): Promise<number> {
  const m = slot.member;
  if (m === null) throw new Error(`${slot.name} is down`);
  let index: number | undefined;
  void m.propose(v2Request({ method: 'PUT', path: key, val: value, time: m.now() })).then((r) => {
    index = r.ok ? (r.event?.node.modifiedIndex ?? 0) : -1;
  });
  await c.world.runUntilTrue(() => index !== undefined, 10_000);
  if (index === undefined || index < 0) throw new Error(`PUT ${key} failed`);
  return index;
}

function diskCommit(slot: MemberSlot): number {
  const hs = slot.disk.view().get(simKeyString(HARD_STATE_KEY));
  return hs === undefined ? 0 : decodeHardState(hs).commit;
}

function diskTerm(slot: MemberSlot, index: number): number | undefined {
  const v = slot.disk.view().get(simKeyString(entryKey(index)));
  return v === undefined ? undefined : decodeEntry(v).term;
}

describe('issue 9: the member runtime keeps its rules (whole members, simulated disk and network)', () => {
  it('1. a member stopped right after an append replaced its uncommitted suffix never records a commit index over the old suffix, and catches up after restart', async () => {
    const c = await healthyCluster(3, 11);
    const old = leaderOf(c);
    const others = c.slots.filter((s) => s !== old);
    await put(c, old, '/k', 'committed');
    // The leader is cut off and takes a write it can never commit.
    c.net.partition([[old.id], others.map((s) => s.id)]);
    void old.member?.propose(v2Request({ method: 'PUT', path: '/k', val: 'never committed', time: 0 })).catch(() => undefined);
    await c.world.runFor(50);
    const conflictIndex = (old.member?.raftStatus().lastIndex ?? 0);
    expect(diskTerm(old, conflictIndex)).toBe(old.member?.raftStatus().term);
    // The others elect a leader and commit their own entries at that index and beyond.
    expect(await c.world.runUntilTrue(() => { const l = c.leaders().find((s) => s !== old); return l !== undefined && l.member?.isReady() === true; }, 10_000)).toBe(true);
    const newLeader = c.leaders().find((s) => s !== old) as MemberSlot;
    for (let i = 0; i < 3; i++) await put(c, newLeader, '/k', `new ${i}`);
    // Healed: the moment the old leader takes the append that replaces its entry, SIGTERM.
    let stopped = false;
    c.net.onDelivered = (to, messages: readonly Message[]) => {
      if (stopped || to !== old.id) return;
      if (!messages.some((m) => m.type === MessageType.MsgApp && m.entries.some((e) => e.index === conflictIndex && diskTerm(old, conflictIndex) !== e.term))) return;
      stopped = true;
      c.stop(old);
    };
    c.net.heal();
    expect(await c.world.runUntilTrue(() => stopped && old.state === 'down', 10_000)).toBe(true);
    // On disk: the commit index never covers the entry of the old term.
    if (diskTerm(old, conflictIndex) !== newLeader.member?.raftStatus().term) expect(diskCommit(old)).toBeLessThan(conflictIndex);
    // Restarted, it never applies the uncommitted value (the checker would fail the run) and catches up.
    c.net.onDelivered = undefined;
    c.start(old);
    expect(await c.world.runUntilTrue(() => old.member?.isReady() === true && old.member.raftStatus().applied >= (newLeader.member?.raftStatus().commit ?? Infinity), 20_000), c.describe()).toBe(true);
    expect(old.member?.store.get('/k', false, false, 0)).toMatchObject({ ok: true, event: { node: { value: 'new 2' } } });
  });

  it('2a. the commit index on disk keeps up: after a burst of writes and a heartbeat of quiet, every member\'s disk holds its commit index', async () => {
    const c = await healthyCluster(3, 22);
    const leader = leaderOf(c);
    for (let i = 0; i < 200; i++) await put(c, leader, `/k${i % 5}`, `v${i}`);
    const commit = leader.member?.raftStatus().commit ?? 0;
    await c.world.runFor(3 * c.heartbeatMs);
    for (const s of c.slots) {
      expect(s.member?.raftStatus().commit).toBe(commit);
      expect(diskCommit(s), `${s.name}: ${c.describe()}`).toBe(commit);
    }
  });

  it('2. a lone member restarted after a crash serves a quorum read only after its own publish, at a read index covering every acknowledged write', async () => {
    const c = await healthyCluster(1, 21);
    const solo = c.slots[0] as MemberSlot;
    let last = 0;
    for (let i = 0; i < 20; i++) await put(c, solo, '/k', `v${i}`);
    // The raft index of the last write (a lone member commits it at once; raft and etcd indexes
    // differ: the log starts with the bootstrap entry and the leader's empty entry).
    last = solo.member?.raftStatus().commit ?? 0;
    // A power loss: the last commit index, written without fsync, is gone; the log is whole.
    c.crash(solo, 'power-loss');
    expect(diskCommit(solo)).toBeLessThan(last);
    let readyAt: number | undefined;
    c.start(solo);
    await c.world.runUntilTrue(() => solo.member !== null, 1000, 1);
    const m = solo.member as NonNullable<typeof solo.member>;
    let read: string | undefined;
    // A quorum read issued as soon as the client port opens (it waits behind the readiness gate).
    void m.whenReady(c.readyWaitMs).then(async () => {
      readyAt = m.raftStatus().applied;
      await m.readBarrier();
      const r = m.store.get('/k', false, false, 0);
      read = r.ok ? r.event?.node.value : 'missing';
    });
    // The checker fails the run if a ReadIndex answer is below an index applied before it was asked.
    await c.world.runUntilTrue(() => read !== undefined, 10_000, 1);
    expect(read).toBe('v19');
    // Ready only once this run's publish (an entry after the whole old log) was applied.
    expect(readyAt).toBeGreaterThan(last);
  });

  it('3. a member that lost its data dir refuses to bootstrap again ("member <id> has already been bootstrapped")', async () => {
    const c = await healthyCluster(3, 31);
    const victim = c.slots.find((s) => s !== leaderOf(c)) as MemberSlot;
    c.wipe(victim);
    c.start(victim);
    await c.world.runFor(5000);
    expect(victim.state).toBe('down');
    expect(victim.refusal).toBe(`member ${victim.id.toString(16)} has already been bootstrapped`);
    // The empty dir stays empty: nothing was created that a later start would take for a member.
    expect(victim.disk.view().size).toBe(0);
    // And a new cluster whose members start one after another still comes up.
    const fresh = new MemberCluster({ members: 3, seed: 32 });
    fresh.start(fresh.slots[0] as MemberSlot);
    await fresh.world.runFor(3000);
    fresh.start(fresh.slots[1] as MemberSlot);
    await fresh.world.runFor(3000);
    fresh.start(fresh.slots[2] as MemberSlot);
    expect(await fresh.world.runUntilTrue(() => fresh.running().length === 3 && fresh.running().every((s) => s.member?.isReady() === true), 20_000), fresh.describe()).toBe(true);
  });

  it('4. forged peer input is refused with a 4xx and changes nothing (each kind of forgery)', async () => {
    for (const kind of [...FORGERIES, 'forged-forward'] as const) {
      const c = await healthyCluster(3, 41);
      const intruder = new Intruder(c, new Rng(7));
      for (let i = 0; i < 6; i++) intruder.attack(kind); // throws a SafetyViolation on a non-4xx or a change
      await c.world.runFor(3000); // a forged publish is answered after the leader's check
      for (const s of c.running()) intruder.checkMembership(s);
      expect(c.stableLeader(), `${kind}: ${c.describe()}`).toBeDefined();
    }
  });

  it('4b. an exception from raft on input the guard let through stops the member loudly (a 500, never limping on)', async () => {
    const c = await healthyCluster(3, 42);
    const follower = c.slots.find((s) => s !== leaderOf(c)) as MemberSlot;
    const fatal: unknown[] = [];
    const m = follower.member as NonNullable<MemberSlot['member']>;
    // Stand-in for a broken invariant inside raft (the guard refuses every input known to do this).
    const spy = vi.spyOn(RawNode.prototype, 'step').mockImplementationOnce(() => {
      throw new RaftInvariantError('broken invariant (test)');
    });
    const original = m.peerInputOptions();
    let status = 0;
    try {
      const onFatal = (m as unknown as { onFatal: (err: unknown) => void }).onFatal;
      (m as unknown as { onFatal: (err: unknown) => void }).onFatal = (err) => fatal.push(err);
      const heartbeat: Message = { type: MessageType.MsgHeartbeat, to: follower.id, from: leaderOf(c).id, term: m.raftStatus().term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
      status = acceptPeerBody(encodeBatch([heartbeat]), heartbeat.from, 'messages', original).status;
      (m as unknown as { onFatal: (err: unknown) => void }).onFatal = onFatal;
    } finally {
      spy.mockRestore();
    }
    expect(status).toBe(500);
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0])).toMatch(/broken invariant/);
    // The member no longer takes input: it is stopping, not limping on.
    expect(m.receivePeerMessages([], leaderOf(c).id)).toBeNull();
  });

  it('5. a leader stopped cleanly hands leadership over first: a new leader is there when it exits', async () => {
    const c = await healthyCluster(3, 51);
    const old = leaderOf(c);
    const term = old.member?.raftStatus().term ?? 0;
    let exited = false;
    c.stop(old, () => {
      exited = true;
    });
    expect(await c.world.runUntilTrue(() => exited, 10_000)).toBe(true);
    const others = c.slots.filter((s) => s !== old);
    const leaders = others.filter((s) => s.member?.raftStatus().role === Role.Leader);
    expect(leaders.length, c.describe()).toBe(1);
    expect(leaders[0]?.member?.raftStatus().term).toBe(term + 1);
    for (const s of others) expect(s.member?.raftStatus().lead).toBe(leaders[0]?.id);
  });
});
