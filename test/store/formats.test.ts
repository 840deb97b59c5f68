// The wire formats the store produces: errors (etcd-v2-api.md §7), expiration and ttl (§2.2), event
// bodies (§2.1), key order and path cleaning (§4.1, §4.9).
import { describe, expect, it } from 'vitest';
import { ErrorCode, EtcdError } from '../../src/store/errors.js';
import { eventBody, formatExpiration, remainingTtlSeconds } from '../../src/store/event.js';
import { cleanPath, compareKeys, isHiddenBelow } from '../../src/store/keys.js';

describe('EtcdError', () => {
  it('carries etcd’s exact message and serialises errorCode, message, cause, index in that order', () => {
    const e = new EtcdError(ErrorCode.KeyNotFound, '/nope', 3);
    expect(JSON.stringify(e)).toBe('{"errorCode":100,"message":"Key not found","cause":"/nope","index":3}');
    expect(e.message).toBe('Key not found');
    expect(e).toBeInstanceOf(Error);
  });

  it('omits an empty cause', () => {
    expect(JSON.stringify(new EtcdError(ErrorCode.NotFile, '', 11))).toBe('{"errorCode":102,"message":"Not a file","index":11}');
  });

  it('maps codes to etcd’s HTTP statuses (everything unlisted is 400)', () => {
    const statuses = Object.fromEntries(Object.values(ErrorCode).map((code) => [code, new EtcdError(code, '', 0).httpStatus()]));
    expect(statuses).toMatchObject({ 100: 404, 101: 412, 102: 403, 105: 412, 108: 403, 110: 401, 300: 500, 301: 500 });
    for (const code of [103, 104, 106, 107, 109, 200, 201, 202, 203, 209, 210, 211, 212, 400, 401, 402, 500]) expect(statuses[code]).toBe(400);
  });

  it('has the messages of the reference table', () => {
    const m = (code: number): string => new EtcdError(code, '', 0).message;
    expect(m(101)).toBe('Compare failed');
    expect(m(104)).toBe('Not a directory');
    expect(m(105)).toBe('Key already exists');
    expect(m(107)).toBe('Root is read only');
    expect(m(108)).toBe('Directory not empty');
    expect(m(110)).toBe('The request requires user authentication');
    expect(m(201)).toBe('PrevValue is Required in POST form');
    expect(m(202)).toBe('The given TTL in POST form is not a number');
    expect(m(203)).toBe('The given index in POST form is not a number');
    expect(m(209)).toBe('Invalid field');
    expect(m(210)).toBe('Invalid POST form');
    expect(m(211)).toBe('Value provided on refresh');
    expect(m(212)).toBe('A TTL must be provided on refresh');
    expect(m(300)).toBe('Raft Internal Error');
    expect(m(401)).toBe('The event in requested index is outdated and cleared');
  });

  it('refuses unknown codes loudly', () => {
    expect(() => new EtcdError(999, '', 0)).toThrow();
  });
});

describe('formatExpiration', () => {
  it('prints Go RFC3339Nano in UTC with trailing zeros trimmed', () => {
    expect(formatExpiration(Date.UTC(2026, 10, 27, 5, 10, 47, 182))).toBe('2026-11-27T05:10:47.182Z');
    expect(formatExpiration(Date.UTC(2026, 10, 27, 5, 10, 47))).toBe('2026-11-27T05:10:47Z');
    expect(formatExpiration(Date.UTC(2026, 10, 27, 5, 10, 47, 100))).toBe('2026-11-27T05:10:47.1Z');
    expect(formatExpiration(Date.UTC(2026, 10, 27, 5, 19, 40, 613) + 0.84375)).toBe('2026-11-27T05:19:40.61384375Z');
    expect(formatExpiration(Date.UTC(2016, 3, 23, 12, 1, 57, 992) + 0.25)).toBe('2016-04-23T12:01:57.99225Z');
  });

  it('carries sub-millisecond rounding into the next millisecond', () => {
    expect(formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 0, 999) + 0.9999999999)).toBe('2026-01-01T00:00:01Z');
  });
});

describe('remainingTtlSeconds', () => {
  it('is the ceiling of the remaining seconds', () => {
    expect(remainingTtlSeconds(10_000, 5_000)).toBe(5);
    expect(remainingTtlSeconds(10_000, 5_001)).toBe(5);
    expect(remainingTtlSeconds(10_000, 9_999)).toBe(1);
    expect(remainingTtlSeconds(10_000, 7_000)).toBe(3);
  });

  it('is 0 at or just after the expiration, and negative like Go when long past', () => {
    expect(remainingTtlSeconds(10_000, 10_000)).toBe(0);
    expect(Object.is(remainingTtlSeconds(10_000, 10_300), 0)).toBe(true);
    expect(remainingTtlSeconds(10_000, 11_500)).toBe(-1);
  });

  it('ignores floating-point noise below a microsecond', () => {
    const now = Date.UTC(2026, 0, 1) + 0.123456789;
    expect(remainingTtlSeconds(now + 5000, now)).toBe(5);
  });
});

describe('eventBody', () => {
  it('is action, node, prevNode, without index or refresh', () => {
    const node = { key: '/k', value: 'v', modifiedIndex: 2, createdIndex: 1 };
    expect(JSON.stringify(eventBody({ action: 'update', node, prevNode: node, index: 2, refresh: true }))).toBe(
      '{"action":"update","node":{"key":"/k","value":"v","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/k","value":"v","modifiedIndex":2,"createdIndex":1}}',
    );
    expect(JSON.stringify(eventBody({ action: 'get', node: { dir: true }, index: 9 }))).toBe('{"action":"get","node":{"dir":true}}');
  });
});

describe('keys', () => {
  it('cleans paths as Go path.Clean(path.Join("/", p))', () => {
    expect(cleanPath('/')).toBe('/');
    expect(cleanPath('')).toBe('/');
    expect(cleanPath('foo')).toBe('/foo');
    expect(cleanPath('/foo/')).toBe('/foo');
    expect(cleanPath('//a//b/')).toBe('/a/b');
    expect(cleanPath('/a/./b/../c')).toBe('/a/c');
    expect(cleanPath('/../..')).toBe('/');
    expect(cleanPath('/.dot/..x/...')).toBe('/.dot/..x/...');
  });

  it('orders keys byte-wise as UTF-8', () => {
    const keys = ['/😀', '/～', '/k2', '/k10', '/ü', '/k1', '/zbig', '/✓ok'];
    expect([...keys].sort(compareKeys)).toEqual(['/k1', '/k10', '/k2', '/zbig', '/ü', '/✓ok', '/～', '/😀']);
  });

  it('decides hidden-ness as etcd’s isHidden (watcher_hub_test.go TestIsHidden)', () => {
    expect(isHiddenBelow('/', '/_foo')).toBe(true);
    expect(isHiddenBelow('/_foo', '/_foo')).toBe(false);
    expect(isHiddenBelow('/_foo', '/_foo/foo')).toBe(false);
    expect(isHiddenBelow('/_foo', '/_foo/_foo')).toBe(true);
    expect(isHiddenBelow('_foo/foo', '/_foo/')).toBe(false);
    expect(isHiddenBelow('/a', '/a/b/_c/d')).toBe(true);
  });
});
