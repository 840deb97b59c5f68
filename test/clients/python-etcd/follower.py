"""python-etcd (Debian's python3-etcd 0.4.5) through one member, normally a follower.

    /usr/bin/python3 follower.py --port <client port> [--host 127.0.0.1] [--rounds 100] [--locks 50]

Every round writes a key through that member and reads it back through the same member, then
deletes it and reads again: read-your-writes means the read sees the value just written, and the
read after the delete raises EtcdKeyNotFound. Then etcd.Lock is acquired (non-blocking: nobody else
holds it, so a fresh view must show ours as the lowest sequence; is_acquired then reads its key back)
and released, `--locks` times; after each release a read of the lock's key must find nothing.
Prints one JSON object on the last line of stdout; exit code 0 whether or not the checks held (the
caller asserts on the counts), 2 on bad usage.
"""
import argparse
import json
import sys
import time

import etcd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--rounds', type=int, default=100)
    ap.add_argument('--locks', type=int, default=50)
    ap.add_argument('--prefix', default='/pyetcd-ryw')
    args = ap.parse_args()

    client = etcd.Client(host=args.host, port=args.port, allow_redirect=True, read_timeout=10)
    out = {
        'module': etcd.__file__,
        'rounds': args.rounds,
        'fresh_reads': 0,
        'not_found_after_delete': 0,
        'locks': args.locks,
        'locks_acquired': 0,
        'locks_gone_after_release': 0,
        'problems': [],
    }
    started = time.monotonic()

    def problem(text):
        if len(out['problems']) < 20:
            out['problems'].append(text)

    key = args.prefix + '/key'
    for i in range(args.rounds):
        value = 'v%d' % i
        try:
            client.write(key, value)
            got = client.read(key)
            if got.value == value:
                out['fresh_reads'] += 1
            else:
                problem('round %d: read %r after writing %r' % (i, got.value, value))
        except etcd.EtcdException as e:
            problem('round %d write/read: %s: %s' % (i, type(e).__name__, e))
            continue
        try:
            client.delete(key)
        except etcd.EtcdException as e:
            problem('round %d delete: %s: %s' % (i, type(e).__name__, e))
            continue
        try:
            got = client.read(key)
            problem('round %d: read %r after the delete' % (i, got.value))
        except etcd.EtcdKeyNotFound:
            out['not_found_after_delete'] += 1
        except etcd.EtcdException as e:
            problem('round %d read after delete: %s: %s' % (i, type(e).__name__, e))

    for i in range(args.locks):
        lock = etcd.Lock(client, 'pyetcd-ryw-lock')
        try:
            # is_acquired reads the lock's own key back through the member.
            if lock.acquire(blocking=False, lock_ttl=60) and lock.is_acquired:
                out['locks_acquired'] += 1
            else:
                problem('lock %d: not acquired (taken=%s)' % (i, lock.is_taken))
        except (etcd.EtcdException, ValueError) as e:
            # ValueError: python-etcd did not find its own sequence among the lock's keys.
            problem('lock %d acquire: %s: %s' % (i, type(e).__name__, e))
        try:
            lock.release()
        except etcd.EtcdException as e:
            problem('lock %d release: %s: %s' % (i, type(e).__name__, e))
            continue
        try:
            client.read(lock.lock_key)
            problem('lock %d: its key %s is still there after release' % (i, lock.lock_key))
        except etcd.EtcdKeyNotFound:
            out['locks_gone_after_release'] += 1
        except etcd.EtcdException as e:
            problem('lock %d read after release: %s: %s' % (i, type(e).__name__, e))

    out['seconds'] = round(time.monotonic() - started, 2)
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
