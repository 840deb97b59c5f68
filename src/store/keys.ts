// Key paths of the v2 tree: canonical form, hidden names and etcd's byte-wise key order.

/**
 * Go's path.Clean(path.Join("/", p)), as etcd applies to every key: rooted, no empty, '.' or '..'
 * segments, no trailing slash; the root is '/'. Already-canonical paths (the common case, since the
 * HTTP layer canonicalises) are returned as they are, without allocating.
 */
export function cleanPath(p: string): string {
  if (isCanonical(p)) return p;
  const out: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop(); // a rooted path cannot climb above the root
      continue;
    }
    out.push(segment);
  }
  return '/' + out.join('/');
}

function isCanonical(p: string): boolean {
  if (p === '/') return true;
  if (p.length < 2 || p.charCodeAt(0) !== 0x2f || p.charCodeAt(p.length - 1) === 0x2f) return false;
  let segmentStart = 1;
  for (let i = 1; i <= p.length; i++) {
    if (i < p.length && p.charCodeAt(i) !== 0x2f) continue;
    const length = i - segmentStart;
    if (length === 0) return false;
    if (length <= 2 && p.charCodeAt(segmentStart) === 0x2e) {
      if (length === 1 || p.charCodeAt(segmentStart + 1) === 0x2e) return false;
    }
    segmentStart = i + 1;
  }
  return true;
}

/** The path of `name` inside the directory at `dirPath`. */
export function joinKey(dirPath: string, name: string): string {
  return dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
}

/** etcd hides a node whose own name starts with '_' from listings and from live recursive watches. */
export function isHiddenName(name: string): boolean {
  return name.charCodeAt(0) === 0x5f;
}

/**
 * etcd's watcher_hub isHidden: whether the event key, seen from a watch on `watchPath`, lies at or
 * under a hidden name below the watched path. A deleted ancestor (watchPath longer than keyPath) is
 * never hidden.
 */
export function isHiddenBelow(watchPath: string, keyPath: string): boolean {
  if (watchPath.length > keyPath.length) return false;
  // Go tests path.Clean('/' + rest) for '/_'; for canonical keys that is: rest starts with '_' or
  // contains '/_' (checked in place, without building the string).
  return keyPath.charCodeAt(watchPath.length) === 0x5f || keyPath.indexOf('/_', watchPath.length) !== -1;
}

/**
 * Byte-wise order of the UTF-8 encodings, which Go's string comparison gives and etcd's sorted
 * listings use: this is code point order, which differs from JS's UTF-16 code unit order only for
 * characters above U+FFFF (surrogate pairs) against U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    return codeUnitRank(ca) - codeUnitRank(cb);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000..U+FFFF so that code unit order becomes code point order. */
function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
