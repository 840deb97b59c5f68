// A JSON tree that keeps what byte-compatibility needs: member order (and duplicates), and every
// string and number exactly as written on the wire (so `\u003c` and `<` stay different).
// Normalisation replaces leaves with tokens; rendering prints a stable, readable, indented form.

export type JsonNode =
  | { t: 'obj'; entries: Array<[string, JsonNode]> } // [raw key text incl. quotes, value]
  | { t: 'arr'; items: JsonNode[] }
  | { t: 'raw'; text: string } // a literal token as it appeared: "str", 12, true, null
  | { t: 'tok'; text: string } // a normalised placeholder, printed as is
  | { t: 'ttl'; n: number } // compared within ±1
  | { t: 'exp'; deltaMs: number; windowMs?: number }; // a well-formed RFC3339Nano expiration, as (expiration - receive time); windowMs: receive - send time

export interface ParsedJson {
  value: JsonNode;
  /** No whitespace outside strings (Go's encoder output). */
  compact: boolean;
}

class Parser {
  private pos = 0;
  compact = true;
  constructor(private readonly src: string) {}

  parseDocument(): JsonNode {
    const v = this.value();
    this.ws();
    if (this.pos !== this.src.length) throw new Error(`trailing data at ${this.pos}`);
    return v;
  }

  private ws(): void {
    const start = this.pos;
    while (this.pos < this.src.length && ' \t\r\n'.includes(this.src[this.pos] as string)) this.pos++;
    if (this.pos !== start) this.compact = false;
  }

  private value(): JsonNode {
    this.ws();
    const c = this.src[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return { t: 'raw', text: this.string() };
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.src.slice(this.pos, this.pos + 64));
    if (!m) throw new Error(`unexpected ${JSON.stringify(c)} at ${this.pos}`);
    this.pos += m[0].length;
    return { t: 'raw', text: m[0] };
  }

  private string(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '\\') this.pos += 2;
      else if (c === '"') {
        this.pos++;
        const raw = this.src.slice(start, this.pos);
        JSON.parse(raw); // validates escapes
        return raw;
      } else this.pos++;
    }
    throw new Error('unterminated string');
  }

  private object(): JsonNode {
    this.pos++;
    const entries: Array<[string, JsonNode]> = [];
    this.ws();
    if (this.src[this.pos] === '}') {
      this.pos++;
      return { t: 'obj', entries };
    }
    for (;;) {
      this.ws();
      if (this.src[this.pos] !== '"') throw new Error(`expected key at ${this.pos}`);
      const key = this.string();
      this.ws();
      if (this.src[this.pos] !== ':') throw new Error(`expected ':' at ${this.pos}`);
      this.pos++;
      entries.push([key, this.value()]);
      this.ws();
      const c = this.src[this.pos++];
      if (c === '}') return { t: 'obj', entries };
      if (c !== ',') throw new Error(`expected ',' or '}' at ${this.pos - 1}`);
    }
  }

  private array(): JsonNode {
    this.pos++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.src[this.pos] === ']') {
      this.pos++;
      return { t: 'arr', items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.src[this.pos++];
      if (c === ']') return { t: 'arr', items };
      if (c !== ',') throw new Error(`expected ',' or ']' at ${this.pos - 1}`);
    }
  }
}

/** Parses a JSON document, or returns null when `text` is not one object or array. */
export function parseJson(text: string): ParsedJson | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return null;
  try {
    const p = new Parser(text.replace(/\n$/, ''));
    const value = p.parseDocument();
    return { value, compact: p.compact };
  } catch {
    return null;
  }
}

/** The decoded value of a raw string/number/literal token. */
export function rawValue(node: JsonNode): unknown {
  return node.t === 'raw' ? JSON.parse(node.text) : undefined;
}

export function entry(node: JsonNode, key: string): JsonNode | undefined {
  if (node.t !== 'obj') return undefined;
  return node.entries.find(([k]) => JSON.parse(k) === key)?.[1];
}

export function renderJson(node: JsonNode, indent = ''): string {
  const inner = `${indent}  `;
  switch (node.t) {
    case 'raw':
    case 'tok':
      return node.text;
    case 'ttl':
      return `<ttl ${node.n}>`;
    case 'exp':
      return `<expiration: RFC3339Nano UTC, receive time ${node.deltaMs >= 0 ? '+' : '-'} ${(Math.abs(node.deltaMs) / 1000).toFixed(1)}s>`;
    case 'arr':
      if (node.items.length === 0) return '[]';
      return `[\n${node.items.map((v) => inner + renderJson(v, inner)).join(',\n')}\n${indent}]`;
    case 'obj':
      if (node.entries.length === 0) return '{}';
      return `{\n${node.entries.map(([k, v]) => `${inner}${k}: ${renderJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
}

export function mapJson(node: JsonNode, fn: (n: JsonNode, key: string | null) => JsonNode, key: string | null = null): JsonNode {
  let mapped: JsonNode = node;
  if (node.t === 'obj') {
    mapped = { t: 'obj', entries: node.entries.map(([k, v]) => [k, mapJson(v, fn, JSON.parse(k) as string)]) };
  } else if (node.t === 'arr') {
    mapped = { t: 'arr', items: node.items.map((v) => mapJson(v, fn, key)) };
  }
  return fn(mapped, key);
}
