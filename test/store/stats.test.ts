// /v2/stats/store counters (etcd-v2-api.md §8.3), quirks as etcd 3.4.23 counts them (each one
// checked against the real etcd with curl).
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

describe('store stats', () => {
  it('lists the 16 counters in etcd order, starting at zero', () => {
    const h = new Harness();
    expect(JSON.stringify(h.store.stats())).toBe(
      '{"getsSuccess":0,"getsFail":0,"setsSuccess":0,"setsFail":0,"deleteSuccess":0,"deleteFail":0,"updateSuccess":0,"updateFail":0,"createSuccess":0,"createFail":0,"compareAndSwapSuccess":0,"compareAndSwapFail":0,"compareAndDeleteSuccess":0,"compareAndDeleteFail":0,"expireCount":0,"watchers":0}',
    );
  });

  it('counts successes and failures per operation; POST counts as create, refresh as set', () => {
    const h = new Harness();
    h.put('/a', { value: '1' }); // set ok
    h.put('/a', { value: '1', refresh: true, ttl: 5 }); // set ok (refresh)
    h.put('/a', { prevExist: false }); // create fail
    h.post('/q'); // create ok
    h.put('/a', { prevExist: true, value: '2' }); // update ok
    h.put('/missing', { prevExist: true }); // update fail
    h.put('/a', { prevValue: 'zz' }); // cas fail
    h.put('/a', { prevValue: '2', value: '3' }); // cas ok
    h.get('/a'); // get ok
    h.get('/zz'); // get fail
    h.put('/d/x', { value: '' }); // set ok
    h.del('/d', { dir: true }); // delete fail (108)
    h.del('/a', { prevIndex: 5 }); // cad ok
    h.del('/nope', { prevIndex: 5 }); // cad fail (100)
    expect(h.store.stats()).toEqual({
      getsSuccess: 1,
      getsFail: 1,
      setsSuccess: 3,
      setsFail: 0,
      deleteSuccess: 0,
      deleteFail: 1,
      updateSuccess: 1,
      updateFail: 1,
      createSuccess: 1,
      createFail: 1,
      compareAndSwapSuccess: 1,
      compareAndSwapFail: 1,
      compareAndDeleteSuccess: 1,
      compareAndDeleteFail: 1,
      expireCount: 0,
      watchers: 0,
    });
  });

  it('counts etcd’s unmarked failures as successes: root writes, update of a dir with a value, CAD mismatch or on a dir', () => {
    const h = new Harness();
    h.put('/cdir', { dir: true }); // setsSuccess
    h.put('/', { prevExist: true, value: 'x' }); // 107 -> updateSuccess
    h.del('/'); // 107 -> deleteSuccess
    h.put('/', { prevValue: 'a', value: 'x' }); // 107 -> compareAndSwapSuccess
    h.del('/', { prevValue: 'a' }); // 102 -> compareAndDeleteSuccess
    h.put('/cdir', { prevExist: true, value: 'x' }); // 102 -> updateSuccess
    h.put('/f', { value: 'v' }); // setsSuccess
    h.del('/f', { prevValue: 'zz' }); // 101 -> compareAndDeleteSuccess
    h.post('/f/y', { value: 'x' }); // 104 -> createFail and setsFail
    expect(h.store.index()).toBe(2);
    expect(h.store.stats()).toMatchObject({
      setsSuccess: 2,
      setsFail: 1,
      updateSuccess: 2,
      deleteSuccess: 1,
      compareAndSwapSuccess: 1,
      compareAndDeleteSuccess: 2,
      createFail: 1,
      createSuccess: 0,
    });
  });

  it('bumps getsFail for every keys request (the auth lookup of an etcd without auth records yet)', () => {
    const h = new Harness();
    h.store.recordKeysRequest();
    h.store.recordKeysRequest();
    h.store.recordKeysRequest(true);
    expect(h.store.stats()).toMatchObject({ getsFail: 2, getsSuccess: 1 });
  });

  it('reports pending live watchers', () => {
    const h = new Harness();
    const a = h.watch('/a');
    h.watch('/b', { stream: true });
    expect(h.store.stats().watchers).toBe(2);
    a.remove();
    expect(h.store.stats().watchers).toBe(1);
  });
});
