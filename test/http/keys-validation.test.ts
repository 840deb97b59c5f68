// Every parameter-validation row of etcd's parseKeyRequest (docs §1.2, §7.3), over real HTTP. Each
// expected answer is what etcd 3.4.23 returned for the same request (checked side by side).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put, request, startTestMember, type TestMember } from './harness.js';

let m: TestMember;
beforeAll(async () => {
  m = await startTestMember();
  await put(m.url, '/v2/keys/exists', 'value=one');
});
afterAll(() => m.close());

interface Row {
  what: string;
  method: string;
  path: string;
  form?: string | Buffer;
  errorCode: number;
  cause: string;
}

const rows: Row[] = [
  { what: 'malformed escape in the body', method: 'PUT', path: '/v2/keys/a', form: 'value=%zz', errorCode: 210, cause: 'invalid URL escape "%zz"' },
  { what: 'malformed escape in the query', method: 'GET', path: '/v2/keys/a?value=%zz', errorCode: 210, cause: 'invalid URL escape "%zz"' },
  { what: 'truncated escape', method: 'PUT', path: '/v2/keys/a', form: 'value=%', errorCode: 210, cause: 'invalid URL escape "%"' },
  { what: 'escape cut inside a rune', method: 'PUT', path: '/v2/keys/a', form: Buffer.from('value=%\xe2\x9c', 'latin1'), errorCode: 210, cause: 'invalid URL escape "%\\xe2\\x9c"' },
  { what: 'semicolon separator', method: 'GET', path: '/v2/keys/a?x=1;y=2', errorCode: 210, cause: 'invalid semicolon separator in query' },
  { what: 'prevIndex not a number', method: 'PUT', path: '/v2/keys/a?prevIndex=abc', errorCode: 203, cause: 'invalid value for "prevIndex"' },
  { what: 'prevIndex negative', method: 'PUT', path: '/v2/keys/a?prevIndex=-1', errorCode: 203, cause: 'invalid value for "prevIndex"' },
  { what: 'prevIndex empty', method: 'PUT', path: '/v2/keys/a?prevIndex=', errorCode: 203, cause: 'invalid value for "prevIndex"' },
  { what: 'prevIndex past 2^64', method: 'PUT', path: '/v2/keys/a?prevIndex=18446744073709551616', errorCode: 203, cause: 'invalid value for "prevIndex"' },
  { what: 'waitIndex fractional', method: 'GET', path: '/v2/keys/a?wait=true&waitIndex=1.5', errorCode: 203, cause: 'invalid value for "waitIndex"' },
  { what: 'waitIndex empty', method: 'GET', path: '/v2/keys/a?waitIndex=', errorCode: 203, cause: 'invalid value for "waitIndex"' },
  { what: 'recursive not a Go bool', method: 'GET', path: '/v2/keys/a?recursive=bad', errorCode: 209, cause: 'invalid value for "recursive"' },
  { what: 'sorted not a Go bool', method: 'GET', path: '/v2/keys/a?sorted=maybe', errorCode: 209, cause: 'invalid value for "sorted"' },
  { what: 'wait not a Go bool', method: 'GET', path: '/v2/keys/a?wait=yes', errorCode: 209, cause: 'invalid value for "wait"' },
  { what: 'dir not a Go bool', method: 'PUT', path: '/v2/keys/a?dir=2', errorCode: 209, cause: 'invalid value for "dir"' },
  { what: 'quorum not a Go bool', method: 'GET', path: '/v2/keys/a?quorum=yes', errorCode: 209, cause: 'invalid value for "quorum"' },
  { what: 'stream not a Go bool', method: 'GET', path: '/v2/keys/a?stream=no', errorCode: 209, cause: 'invalid value for "stream"' },
  { what: 'wait on PUT', method: 'PUT', path: '/v2/keys/a?wait=true', form: 'value=1', errorCode: 209, cause: '"wait" can only be used with GET requests' },
  { what: 'wait on DELETE', method: 'DELETE', path: '/v2/keys/a?wait=true', errorCode: 209, cause: '"wait" can only be used with GET requests' },
  { what: 'empty prevValue', method: 'PUT', path: '/v2/keys/a?prevValue=', form: 'value=1', errorCode: 201, cause: '"prevValue" cannot be empty' },
  { what: 'noValueOnSuccess not a Go bool', method: 'PUT', path: '/v2/keys/a?noValueOnSuccess=maybe', errorCode: 209, cause: 'invalid value for "noValueOnSuccess"' },
  { what: 'ttl not a number', method: 'PUT', path: '/v2/keys/a?ttl=abc', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl negative', method: 'PUT', path: '/v2/keys/a', form: 'ttl=-1', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl fractional', method: 'PUT', path: '/v2/keys/a?ttl=1.5', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl with a sign', method: 'PUT', path: '/v2/keys/a?ttl=%2B5', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl in hex', method: 'PUT', path: '/v2/keys/a?ttl=0x10', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl with a space', method: 'PUT', path: '/v2/keys/a?ttl=%205', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'ttl past 2^64', method: 'PUT', path: '/v2/keys/a?ttl=18446744073709551616', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'prevExist not a Go bool (unquoted cause)', method: 'PUT', path: '/v2/keys/a?prevExist=bad', errorCode: 209, cause: 'invalid value for prevExist' },
  { what: 'refresh not a Go bool (unquoted cause)', method: 'PUT', path: '/v2/keys/a?refresh=maybe', errorCode: 209, cause: 'invalid value for refresh' },
  { what: 'refresh with a value', method: 'PUT', path: '/v2/keys/exists?refresh=true', form: 'value=1&ttl=5', errorCode: 211, cause: 'A value was provided on a refresh' },
  { what: 'refresh without ttl', method: 'PUT', path: '/v2/keys/exists?refresh=true', errorCode: 212, cause: 'No TTL value set' },
  { what: 'refresh with an empty ttl', method: 'PUT', path: '/v2/keys/exists?refresh=true', form: 'ttl=', errorCode: 212, cause: 'No TTL value set' },
  // validation order (§7.3): the first failing check is the one reported
  { what: 'prevIndex before waitIndex, booleans and ttl', method: 'PUT', path: '/v2/keys/a?ttl=abc&prevIndex=abc&recursive=bad', errorCode: 203, cause: 'invalid value for "prevIndex"' },
  { what: 'ttl before prevExist', method: 'PUT', path: '/v2/keys/a?ttl=abc&prevExist=bad', errorCode: 202, cause: 'invalid value for "ttl"' },
  { what: 'empty prevValue before ttl', method: 'PUT', path: '/v2/keys/a?ttl=abc&prevValue=', errorCode: 201, cause: '"prevValue" cannot be empty' },
  { what: 'form error before anything', method: 'PUT', path: '/v2/keys/a?prevIndex=abc&v=%zz', errorCode: 210, cause: 'invalid URL escape "%zz"' },
];

describe('parameter validation: 400 with etcd error JSON, index 0, nothing written', () => {
  it.each(rows)('$what', async (row) => {
    const before = m.member.store.index();
    const res = await request(m.url, row.path, {
      method: row.method,
      ...(row.form !== undefined ? { body: row.form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } } : {}),
    });
    const message: Record<number, string> = {
      201: 'PrevValue is Required in POST form',
      202: 'The given TTL in POST form is not a number',
      203: 'The given index in POST form is not a number',
      209: 'Invalid field',
      210: 'Invalid POST form',
      211: 'Value provided on refresh',
      212: 'A TTL must be provided on refresh',
    };
    expect(res.status).toBe(400);
    expect(res.body).toBe(JSON.stringify({ errorCode: row.errorCode, message: message[row.errorCode], cause: row.cause, index: 0 }) + '\n');
    expect(res.headers['x-etcd-index']).toBe('0');
    expect(res.headers['x-etcd-cluster-id']).toBe('1818194e3a8c32');
    expect(res.headers['x-raft-index']).toBeUndefined();
    expect(res.headers['content-type']).toBe('application/json');
    expect(m.member.store.index()).toBe(before);
  });

  it('accepts every Go boolean spelling', async () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']) {
      const res = await request(m.url, `/v2/keys/exists?recursive=${v}&sorted=${v}&quorum=${v}`);
      expect(res.status, v).toBe(200);
    }
  });

  it('treats prevIndex=0 and waitIndex=0 as absent, and ttl= as no TTL', async () => {
    const res = await put(m.url, '/v2/keys/zero?prevIndex=0&ttl=', 'value=z');
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ action: 'set', node: { key: '/zero', value: 'z' } });
    expect(JSON.stringify(res.json)).not.toContain('expiration');
  });

  it('does not count parameter errors in the store stats', async () => {
    const before = m.member.store.stats();
    await request(m.url, '/v2/keys/a?recursive=bad');
    expect(m.member.store.stats()).toEqual(before);
  });
});

describe('where parameters are read from (docs §1.2)', () => {
  it('lets a body value win over the query value', async () => {
    const res = await put(m.url, '/v2/keys/src?value=fromquery', 'value=frombody');
    expect(res.json).toMatchObject({ node: { value: 'frombody' } });
  });

  it('keeps the first of repeated fields', async () => {
    const res = await put(m.url, '/v2/keys/src', 'value=first&value=second');
    expect(res.json).toMatchObject({ node: { value: 'first' } });
  });

  it('ignores a DELETE body: prevValue there does not make the delete conditional', async () => {
    await put(m.url, '/v2/keys/delbody', 'value=v');
    const res = await request(m.url, '/v2/keys/delbody', { method: 'DELETE', form: 'prevValue=WRONG' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ action: 'delete' });
  });

  it.each([
    ['application/json', 'application/json'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ['no Content-Type', ''],
  ])('ignores a body sent as %s (value stored as "")', async (_what, contentType) => {
    const res = await request(m.url, '/v2/keys/ignored', {
      method: 'PUT',
      body: 'value=x',
      headers: contentType === '' ? {} : { 'Content-Type': contentType },
    });
    expect(res.json).toMatchObject({ node: { key: '/ignored', value: '' } });
  });

  it('reads a form body whatever the case and parameters of its Content-Type', async () => {
    const res = await request(m.url, '/v2/keys/ct', {
      method: 'PUT',
      body: 'value=q',
      headers: { 'Content-Type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' },
    });
    expect(res.json).toMatchObject({ node: { value: 'q' } });
  });

  it.each([
    ['application/x-www-form-urlencoded; foo', 'mime: invalid media parameter'],
    [';', 'mime: no media type'],
    ['a b', 'mime: expected slash after first token'],
    ['a/', 'mime: expected token after slash'],
    ['a/b c', 'mime: unexpected content after media subtype'],
    ['application/x-www-form-urlencoded; a=1; a=2', 'mime: duplicate parameter name'],
  ])('answers 210 with Go mime error for Content-Type %j', async (contentType, cause) => {
    const res = await request(m.url, '/v2/keys/ct', { method: 'PUT', body: 'value=q', headers: { 'Content-Type': contentType } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ errorCode: 210, message: 'Invalid POST form', cause, index: 0 });
  });
});
