/**
 * Password hashing (scrypt) and random tokens/keys.
 *
 * Hashes are stored as `scrypt$N$r$p$salt$key` (base64 salt and key), so a hash made with older
 * parameters stays verifiable after the parameters change; `needsRehash` tells sign-in to store a
 * fresh hash with the current ones (auth/service.ts).
 */
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** Current parameters: N=2^17, r=8, p=1 (128 MiB and ~0.4 s per hash on a small server). */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1, keyLength: 64 } as const;

/** Parameters read from a stored hash are refused beyond these (a tampered row cannot exhaust memory). */
const MAX_STORED = { N: 2 ** 20, r: 32, p: 16 };

/** Hashes computed at once per process: each holds 128·N·r bytes and a libuv thread Node also needs for other I/O. */
const MAX_CONCURRENT_HASHES = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** scrypt's own memory bound, with room above what the parameters need (128·N·r·p bytes). */
function maxmemFor(N: number, r: number, p: number): number {
  return 128 * N * r * p + 16 * 1024 * 1024;
}

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return withHashSlot(
    () =>
      new Promise((resolve, reject) =>
        scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = SCRYPT;
  const key = await scrypt(password, salt, SCRYPT.keyLength, { N, r, p, maxmem: maxmemFor(N, r, p) });
  return ["scrypt", N, r, p, salt.toString("base64"), key.toString("base64")].join("$");
}

interface StoredHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): StoredHash | null {
  const [scheme, n, r, p, saltB64, keyB64] = stored.split("$");
  if (scheme !== "scrypt" || !saltB64 || !keyB64) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const valid =
    Number.isSafeInteger(params.N) && params.N > 1 && (params.N & (params.N - 1)) === 0 && params.N <= MAX_STORED.N &&
    Number.isSafeInteger(params.r) && params.r >= 1 && params.r <= MAX_STORED.r &&
    Number.isSafeInteger(params.p) && params.p >= 1 && params.p <= MAX_STORED.p;
  if (!valid) return null;
  const key = Buffer.from(keyB64, "base64");
  return key.length > 0 ? { ...params, salt: Buffer.from(saltB64, "base64"), key } : null;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const hash = parseHash(stored);
  if (!hash) return false;
  const { N, r, p } = hash;
  const actual = await scrypt(password, hash.salt, hash.key.length, { N, r, p, maxmem: maxmemFor(N, r, p) });
  return actual.length === hash.key.length && timingSafeEqual(actual, hash.key);
}

/** Whether a stored hash was made with other parameters than the current ones (re-hash it at the next sign-in). */
export function needsRehash(stored: string): boolean {
  const hash = parseHash(stored);
  return !hash || hash.N !== SCRYPT.N || hash.r !== SCRYPT.r || hash.p !== SCRYPT.p || hash.key.length !== SCRYPT.keyLength;
}

/** A dummy hash to verify against when the user does not exist (constant-time-ish sign-in). */
export const DUMMY_PASSWORD_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$AAAAAAAAAAAAAAAAAAAAAA==$` + Buffer.alloc(SCRYPT.keyLength).toString("base64");

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Client-side environment key: 22 url-safe characters, like Flagsmith's. */
export function newClientKey(): string {
  return randomBytes(16).toString("base64url").replace(/[-_]/g, "x").slice(0, 22);
}

export const SERVER_KEY_PREFIX = "ser.";
export const ORG_API_KEY_PREFIX = "fp_";

export function newServerKey(): string {
  return SERVER_KEY_PREFIX + randomBytes(24).toString("base64url");
}

export function newOrganisationApiKey(): string {
  return ORG_API_KEY_PREFIX + randomBytes(30).toString("base64url");
}

/** What the UI shows of a secret key after creation. */
export function keyPrefix(key: string): string {
  return key.slice(0, key.startsWith(SERVER_KEY_PREFIX) ? 10 : 8);
}
