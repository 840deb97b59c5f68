// Member URLs as etcd accepts them (types.NewURLs): scheme http or https (etcd also knows unix and
// unixs), host:port, nothing after the port. Shared by the command line and /v2/members.

export interface MemberURL {
  /** Canonical text, as etcd prints it: `http://127.0.0.1:2380`. */
  text: string;
  scheme: 'http' | 'https';
  /** Host as written (brackets kept off: `::1` for `[::1]`). */
  host: string;
  port: number;
}

const urlShape = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^/?#:\[\]]*)(?::([0-9]*))?([/?#].*)?$/;

/** Parses one URL; the error text is etcd's (e.g. `URL must not contain a path: http://a:1/x`). */
export function parseMemberURL(text: string): MemberURL | { error: string } {
  const m = urlShape.exec(text);
  const scheme = m?.[1]?.toLowerCase();
  if (m === null || scheme === undefined || !['http', 'https', 'unix', 'unixs'].includes(scheme)) {
    return { error: `URL scheme must be http, https, unix, or unixs: ${text}` };
  }
  const rawHost = m[2] ?? '';
  const portText = m[3];
  if (m[4] !== undefined && m[4] !== '') return { error: `URL must not contain a path: ${text}` };
  if (portText === undefined || portText === '' || rawHost === '') {
    return { error: `URL address does not have the form "host:port": ${text}` };
  }
  if (scheme !== 'http' && scheme !== 'https') return { error: `URL scheme ${scheme} is not supported by etcd-ts: ${text}` };
  const port = Number(portText);
  if (!Number.isInteger(port) || port > 65535) return { error: `URL port out of range: ${text}` };
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  return { text: `${scheme}://${rawHost}:${portText}`, scheme, host, port };
}

/** A comma-separated URL list, sorted as etcd's types.URLs are; the first bad URL's error otherwise. */
export function parseMemberURLs(list: readonly string[]): MemberURL[] | { error: string } {
  if (list.length === 0) return { error: 'no valid URLs given' };
  const out: MemberURL[] = [];
  for (const text of list) {
    const parsed = parseMemberURL(text.trim());
    if ('error' in parsed) return parsed;
    out.push(parsed);
  }
  return out.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}
