// Password hashes for v2 auth users. etcd uses bcrypt; we use Node's scrypt with a random per-user
// salt. The member that takes a PUT /v2/auth/users request hashes the password (salt included)
// before proposing, so applying the change needs no randomness. Checking a password is the member's
// own business: against the replicated hash, with a bounded cache of verdicts so that a client
// sending the same basic-auth header on every request pays for scrypt once.
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCHEME = 'scrypt';
/** N = 2^14, r = 8, p = 1 (16 MiB, tens of ms): Node's defaults, in the range bcrypt cost 10 costs. */
const COST_N = 16384;
const BLOCK_SIZE_R = 8;
const PARALLELISM_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions, keyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

/** `scrypt$N$r$p$<salt base64>$<key base64>` with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, { N: COST_N, r: BLOCK_SIZE_R, p: PARALLELISM_P }, KEY_BYTES);
  return [SCHEME, COST_N, BLOCK_SIZE_R, PARALLELISM_P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `password` matches `hash`; false for a hash this code cannot read. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Bounded parameters: a hash from the log must not make this member allocate without limit.
  if (!(Number.isSafeInteger(n) && n >= 2 && n <= 1 << 20 && Number.isSafeInteger(r) && r >= 1 && r <= 32 && Number.isSafeInteger(p) && p >= 1 && p <= 16)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (expected.length === 0) return false;
  try {
    const key = await derive(password, salt, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, expected.length);
    return timingSafeEqual(key, expected);
  } catch {
    return false; // parameters scrypt refuses (N not a power of two, ...)
  }
}

export interface CredentialCacheOptions {
  /** Verdicts kept at most (oldest dropped first). */
  maxEntries?: number;
}

/**
 * Verdicts of password checks, keyed by a digest of (user, stored hash, password): a changed
 * password hash makes old verdicts unreachable. A check in flight is shared by concurrent requests.
 */
export class CredentialCache {
  private readonly verdicts = new Map<string, boolean | Promise<boolean>>();
  private readonly maxEntries: number;

  constructor(options: CredentialCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1024;
    if (!(this.maxEntries > 0)) throw new Error(`CredentialCache: bad maxEntries ${this.maxEntries}`);
  }

  /** The verdict, synchronously when it is known. */
  check(user: string, hash: string, password: string): boolean | Promise<boolean> {
    const key = createHash('sha256').update(user).update('\0').update(hash).update('\0').update(password).digest('base64');
    const known = this.verdicts.get(key);
    if (known !== undefined) {
      // most recently used last
      this.verdicts.delete(key);
      this.verdicts.set(key, known);
      return known;
    }
    const pending = verifyPassword(hash, password).then(
      (ok) => {
        if (this.verdicts.get(key) === pending) this.verdicts.set(key, ok);
        return ok;
      },
      () => {
        this.verdicts.delete(key);
        return false;
      },
    );
    this.remember(key, pending);
    return pending;
  }

  get size(): number {
    return this.verdicts.size;
  }

  private remember(key: string, verdict: Promise<boolean>): void {
    while (this.verdicts.size >= this.maxEntries) {
      const oldest = this.verdicts.keys().next();
      if (oldest.done === true) break;
      this.verdicts.delete(oldest.value);
    }
    this.verdicts.set(key, verdict);
  }
}
