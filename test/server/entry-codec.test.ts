import { describe, expect, it } from 'vitest';
import { v2Request } from '../../src/store/command.js';
import { decodeEntryCommand, encodeEntryCommand, type EntryCommand } from '../../src/server/entry-codec.js';
import { Membership } from '../../src/server/membership.js';

describe('log entry commands', () => {
  const commands: EntryCommand[] = [
    { kind: 'v2', req: v2Request({ method: 'PUT', path: '/a/b', val: 'ünï <&>', time: 1795760000123.456, expiration: 1795760005123.456, prevExist: true }) },
    { kind: 'v2', req: v2Request({ method: 'SYNC', path: '/', time: 1 }) },
    { kind: 'attrs', memberId: 0x1e05c52164694dn, name: 'infra1', clientURLs: ['http://127.0.0.1:2379'] },
    { kind: 'version', version: '3.4.0' },
    { kind: 'peers', memberId: 7n, peerURLs: ['http://127.0.0.1:2380', 'http://127.0.0.2:2380'] },
  ];

  it.each(commands.map((c) => [c.kind, c] as const))('round-trips a %s command exactly', (_kind, cmd) => {
    expect(decodeEntryCommand(encodeEntryCommand(cmd))).toEqual(cmd);
  });

  it('refuses a payload it did not write instead of applying garbage', () => {
    expect(() => decodeEntryCommand(new Uint8Array([0xc1]))).toThrow();
    expect(() => decodeEntryCommand(encodeEntryCommand({ kind: 'version', version: 'x' }).subarray(0, 2))).toThrow();
  });
});

describe('Membership', () => {
  const initial = [
    { name: 'b', id: 20n, peerURLs: ['http://127.0.0.1:2'] },
    { name: 'a', id: 10n, peerURLs: ['http://127.0.0.1:1'] },
  ];

  it('lists members by numeric id with names from the initial cluster and no client URLs until published', () => {
    const m = new Membership(initial);
    expect(m.list()).toEqual([
      { id: 'a', name: 'a', peerURLs: ['http://127.0.0.1:1'], clientURLs: [] },
      { id: '14', name: 'b', peerURLs: ['http://127.0.0.1:2'], clientURLs: [] },
    ]);
    expect(m.allPublished()).toBe(false);
  });

  it('applies published attributes and knows when a member published exactly these', () => {
    const m = new Membership(initial);
    expect(m.applyAttributes(10n, 'a', ['http://127.0.0.1:2379'])).toBe(true);
    expect(m.publishedAs(10n, 'a', ['http://127.0.0.1:2379'])).toBe(true);
    expect(m.publishedAs(10n, 'a', ['http://127.0.0.1:9999'])).toBe(false);
    expect(m.allPublished()).toBe(false);
    m.applyAttributes(20n, 'b', ['http://127.0.0.1:22379']);
    expect(m.allPublished()).toBe(true);
  });

  it('ignores attributes and peer URLs of an unknown member', () => {
    const m = new Membership(initial);
    expect(m.applyAttributes(99n, 'x', [])).toBe(false);
    expect(m.applyPeerURLs(99n, ['http://x:1'])).toBe(false);
    expect(m.list()).toHaveLength(2);
  });

  it('refuses a duplicated initial cluster; an empty one is a member that learns the members from the log', () => {
    expect(new Membership([]).ids()).toEqual([]);
    expect(() => new Membership([initial[0], initial[0]] as never)).toThrow(/duplicate/);
  });
});
