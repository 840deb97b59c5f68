// GET /v2/keys/...?wait=true: etcd's handleKeyWatch. The 200 and its headers are flushed as soon as
// the watcher is registered (X-Etcd-Index = store index at registration); then one event and the
// end (long poll), or one chunk per event until the client leaves (stream). The watcher is removed
// when the connection closes, so a client that goes away leaks nothing. A slow stream client gets
// backpressure: the store buffers at most 100 events for it and then drops it, as etcd does.
import { eventBody, type V2Event } from '../store/event.js';
import type { HandlerContext } from './context.js';
import { goEncode } from './go-json.js';
import type { KeyRequest } from './keys-params.js';
import { CONTENT_TYPE_JSON, sendEtcdError, type Res } from './respond.js';

/**
 * The text of the event sent last. Every watcher of a key gets the same event object in the same
 * turn (events are shared and read-only), so the 64 watchers of one key encode it once, not 64 times.
 */
let lastEvent: V2Event | undefined;
let lastEventText = '';

function eventText(ev: V2Event): string {
  if (ev !== lastEvent) {
    lastEventText = goEncode(eventBody(ev));
    lastEvent = ev;
  }
  return lastEventText;
}

export function serveWatch(ctx: HandlerContext, res: Res, kr: KeyRequest): void {
  const registered = ctx.backend.store.watch(kr.path, {
    recursive: kr.recursive,
    stream: kr.stream,
    sinceIndex: kr.waitIndex,
  });
  if (!registered.ok) {
    sendEtcdError(res, registered.error);
    return;
  }
  const watcher = registered.watcher;
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPE_JSON,
    'X-Etcd-Index': watcher.startIndex,
    'X-Raft-Index': ctx.backend.raftIndex(),
    'X-Raft-Term': ctx.backend.raftTerm(),
  });
  res.flushHeaders();
  res.once('close', () => watcher.remove());
  res.on('drain', () => watcher.resume());
  watcher.start(
    (ev) => res.write(eventText(ev)),
    () => {
      if (!res.writableEnded) res.end();
    },
  );
}
