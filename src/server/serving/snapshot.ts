/**
 * The optional on-disk snapshot of a web process (`FLAGPOST_DOCUMENT_CACHE_DIR`, off by default):
 * the documents it serves and what it needs to authenticate their keys, so that a process started
 * while PostgreSQL is unreachable can serve its last good documents.
 *
 * The directory may be shared by the web processes of a machine. Every file is written whole (a
 * temporary file renamed over the old one), one file per document and per key, so that no process
 * overwrites what another wrote about anything else, and nothing a process writes can bring back a
 * key that another learnt was revoked:
 *
 *   <dir>/documents/<environment id>.json   the stored document row as last loaded; never replaced by
 *                                           an older revision
 *   <dir>/keys/<sha256(key)>.json           environment, project, organisation, kind, expiry, and
 *                                           `confirmedAt`: when the database read that answered it
 *                                           started. `{"revoked": true, confirmedAt}` once a read
 *                                           found a recorded key unknown, revoked or expired (keys
 *                                           never known leave no file). A record never replaces one
 *                                           confirmed later. Keys are never written in clear.
 *   <dir>/revoked/<environment id>.json     `{"at"}`: when a key change of that environment (a key
 *   <dir>/revoked/all.json                  revoked, changed or deleted, the environment deleted; `all`:
 *                                           of every environment) was notified to a process. A key
 *                                           record confirmed before that is not served: its read may
 *                                           predate the change. The next read of the key writes it
 *                                           again if it is still valid.
 *
 * Written after each load of a new revision and each key read from the database; read only when the
 * database cannot answer. Entries read from it are revalidated as soon as the database answers. The
 * times are the machine's clock: processes sharing a directory over a network file system need
 * synchronised clocks. A process that cannot write it logs `snapshot.write_failed` once and keeps
 * serving. (`keys.json`, one file of every key rewritten whole by each process, as earlier versions
 * wrote it, is removed when the first key is written, and never read.)
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { settings } from "@/server/config";
import type { SdkExtras } from "@/server/documents/types";
import { getLogger } from "@/server/observability/logger";
import { processSlot } from "@/server/singleton";

const log = getLogger("serving");

export interface SnapshotDocument {
  environmentId: number;
  revision: number;
  document: string;
  sdkExtras: SdkExtras;
  /** ISO timestamp. */
  environmentUpdatedAt: string;
  flagdDocument: string | null;
  flagdEtag: string | null;
  flagdDiagnostics: unknown;
  translatorVersion: string | null;
  /** When this process wrote it (ms epoch): the last time the database confirmed it. */
  writtenAt: number;
}

export interface SnapshotKey {
  environmentId: number;
  projectId: number;
  organisationId: number;
  kind: "client" | "server";
  /** Expiry of a server key (ms epoch), null when it does not expire. */
  validUntil: number | null;
}

type KeyRecord = (SnapshotKey & { confirmedAt: number }) | { revoked: true; confirmedAt: number };

/** How long readiness's answer to "can the snapshot serve anything?" is reused (ms). */
export const SERVABLE_CHECK_MS = 5_000;
/** Most keys whose written record this process remembers (so an unchanged answer is not rewritten). */
const WRITTEN_KEYS_MAX = 50_000;

interface SnapshotState {
  dir: string | null;
  /** Key hash → the environment and answer this process last wrote for it. */
  writtenKeys: Map<string, { environmentId: number; signature: string }>;
  writtenRevisions: Map<number, number>;
  /** Writes in flight by file, chained: one process's writes of a file land in order. */
  writes: Map<string, Promise<void>>;
  legacyRemoved: boolean;
  writeFailedLogged: boolean;
  servable: { at: number; value: boolean } | null;
  temporaries: number;
}

const slot = processSlot<SnapshotState>("documentSnapshot");

function state(): SnapshotState {
  return slot.getOrCreate(() => ({
    dir: settings().documentCacheDir ?? null,
    writtenKeys: new Map(),
    writtenRevisions: new Map(),
    writes: new Map(),
    legacyRemoved: false,
    writeFailedLogged: false,
    servable: null,
    temporaries: 0,
  }));
}

export function snapshotEnabled(): boolean {
  return state().dir !== null;
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

const keyFile = (dir: string, hash: string) => path.join(dir, "keys", `${hash}.json`);
const tombstoneFile = (dir: string, name: string) => path.join(dir, "revoked", `${name}.json`);

async function writeAtomically(current: SnapshotState, file: string, contents: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${++current.temporaries}.tmp`;
  await fs.promises.writeFile(temporary, contents, { mode: 0o600 });
  await fs.promises.rename(temporary, file);
}

function writeFailed(current: SnapshotState, error: unknown): void {
  if (current.writeFailedLogged) return;
  current.writeFailedLogged = true;
  log.warn("snapshot.write_failed", { error });
}

/** Runs `write` after the writes of `file` already queued by this process (fire and forget; flushSnapshot awaits them). */
function queueWrite(current: SnapshotState, file: string, write: () => Promise<void>): void {
  const queued = (current.writes.get(file) ?? Promise.resolve()).then(write).catch((error: unknown) => writeFailed(current, error));
  current.writes.set(file, queued);
  void queued.then(() => {
    if (current.writes.get(file) === queued) current.writes.delete(file);
  });
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.promises.readFile(file, "utf8")) as unknown;
  } catch {
    return null;
  }
}

function readJsonSync(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  } catch {
    return null;
  }
}

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isId = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value > 0;

function asRecord(value: unknown): KeyRecord | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  if (!isTime(record.confirmedAt)) return null;
  if (record.revoked === true) return { revoked: true, confirmedAt: record.confirmedAt };
  if (!isId(record.environmentId) || !isId(record.projectId) || !isId(record.organisationId)) return null;
  if (record.kind !== "client" && record.kind !== "server") return null;
  if (record.validUntil !== null && !isTime(record.validUntil)) return null;
  return {
    environmentId: record.environmentId,
    projectId: record.projectId,
    organisationId: record.organisationId,
    kind: record.kind,
    validUntil: record.validUntil,
    confirmedAt: record.confirmedAt,
  };
}

/** When a key change of `name` (an environment id, or `all`) was last notified (ms epoch; 0: never). */
function tombstoneAt(dir: string, name: string): number {
  const tombstone = readJsonSync(tombstoneFile(dir, name)) as { at?: unknown } | null;
  return tombstone && isTime(tombstone.at) ? tombstone.at : 0;
}

/** The key a record names, if the snapshot may serve it: not revoked, and confirmed after the last key change of its environment. */
function liveKey(record: KeyRecord | null, revokedAt: (environmentId: number) => number): SnapshotKey | undefined {
  if (!record || "revoked" in record) return undefined;
  if (record.confirmedAt <= revokedAt(record.environmentId)) return undefined;
  return { environmentId: record.environmentId, projectId: record.projectId, organisationId: record.organisationId, kind: record.kind, validUntil: record.validUntil };
}

/** Remembers a loaded document (newer revisions only, also across processes sharing the directory); fire and forget. */
export function snapshotDocument(document: Omit<SnapshotDocument, "writtenAt">): void {
  const current = state();
  if (!current.dir) return;
  if ((current.writtenRevisions.get(document.environmentId) ?? -1) >= document.revision) return;
  current.writtenRevisions.set(document.environmentId, document.revision);
  const file = path.join(current.dir, "documents", `${document.environmentId}.json`);
  // The environment id and revision first: another process's newer revision is recognised from the file's head.
  const { environmentId, revision, ...rest } = document;
  const contents = JSON.stringify({ environmentId, revision, ...rest, writtenAt: Date.now() });
  current.servable = null;
  queueWrite(current, file, async () => {
    const onDisk = await revisionOnDisk(file);
    if (onDisk !== null && onDisk > document.revision) return;
    await writeAtomically(current, file, contents);
  });
}

/** The revision of a document file, read from its head (null: no file, or not one of ours). */
async function revisionOnDisk(file: string): Promise<number | null> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(96);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const match = /^\{"environmentId":\d+,"revision":(\d+)[,}]/.exec(head.toString("utf8", 0, bytesRead));
    return match ? Number(match[1]) : null;
  } finally {
    await handle.close();
  }
}

/** The snapshot of an environment's document, or null (no snapshot directory, none written, unreadable). */
export async function readSnapshotDocument(environmentId: number): Promise<SnapshotDocument | null> {
  const dir = state().dir;
  if (!dir) return null;
  const parsed = (await readJson(path.join(dir, "documents", `${environmentId}.json`))) as SnapshotDocument | null;
  return parsed && parsed.environmentId === environmentId && typeof parsed.document === "string" ? parsed : null;
}

function removeLegacyKeys(current: SnapshotState, dir: string): void {
  if (current.legacyRemoved) return;
  current.legacyRemoved = true;
  fs.promises.rm(path.join(dir, "keys.json"), { force: true }).catch((error: unknown) => writeFailed(current, error));
}

/**
 * Remembers what a key resolved to (null: unknown, revoked or expired), as read by a database read
 * that started at `confirmedAt`; fire and forget.
 */
export function snapshotKey(key: string, value: SnapshotKey | null, confirmedAt = Date.now()): void {
  const current = state();
  const dir = current.dir;
  if (!dir) return;
  const hash = hashKey(key);
  const written = current.writtenKeys.get(hash);
  const signature = value === null ? "revoked" : `${value.environmentId}:${value.projectId}:${value.organisationId}:${value.kind}:${value.validUntil}`;
  if (written?.signature === signature) return;
  if (value === null) current.writtenKeys.delete(hash);
  else {
    if (current.writtenKeys.size >= WRITTEN_KEYS_MAX) current.writtenKeys.clear();
    current.writtenKeys.set(hash, { environmentId: value.environmentId, signature });
  }
  removeLegacyKeys(current, dir);
  current.servable = null;
  const file = keyFile(dir, hash);
  const record: KeyRecord = value === null ? { revoked: true, confirmedAt } : { ...value, confirmedAt };
  queueWrite(current, file, async () => {
    const existing = asRecord(await readJson(file));
    // A key never recorded leaves no trace (unknown keys are anyone's guesses); a later answer wins.
    if (value === null && (existing === null || "revoked" in existing)) return;
    if (existing !== null && existing.confirmedAt > confirmedAt) return;
    await writeAtomically(current, file, JSON.stringify(record));
  });
}

/**
 * A key change of these environments (null: all) was notified: records confirmed before now are
 * not served any more, by any process sharing the directory (a tombstone per environment), and this
 * process writes each of their keys again at its next confirmation.
 */
export function forgetSnapshotKeys(environmentIds: ReadonlySet<number> | null, at = Date.now()): void {
  const current = state();
  const dir = current.dir;
  if (!dir) return;
  for (const [hash, written] of current.writtenKeys) if (environmentIds === null || environmentIds.has(written.environmentId)) current.writtenKeys.delete(hash);
  current.servable = null;
  for (const name of environmentIds === null ? ["all"] : [...environmentIds].map(String)) {
    const file = tombstoneFile(dir, name);
    queueWrite(current, file, async () => {
      const existing = (await readJson(file)) as { at?: unknown } | null;
      if (existing && isTime(existing.at) && existing.at >= at) return;
      await writeAtomically(current, file, JSON.stringify({ at }));
    });
  }
}

/** The change listener reconnected (notifications may have been missed): every key is written again at its next confirmation. */
export function forgetWrittenSnapshotKeys(): void {
  slot.get()?.writtenKeys.clear();
}

/** What the snapshot may serve for a key (undefined: nothing, revoked, or confirmed before a later key change of its environment). */
export function snapshotKeyOf(key: string): SnapshotKey | undefined {
  const dir = state().dir;
  if (!dir) return undefined;
  const all = tombstoneAt(dir, "all");
  return liveKey(asRecord(readJsonSync(keyFile(dir, hashKey(key)))), (environmentId) => Math.max(all, tombstoneAt(dir, String(environmentId))));
}

/**
 * Whether the snapshot can serve anything: a document, and a live key of its environment. Scans the
 * directory (stopping at the first such key), at most once per SERVABLE_CHECK_MS.
 */
export function snapshotServable(now = Date.now()): boolean {
  const current = state();
  const dir = current.dir;
  if (!dir) return false;
  if (current.servable && now - current.servable.at < SERVABLE_CHECK_MS) return current.servable.value;
  const value = scanServable(dir, now);
  current.servable = { at: now, value };
  return value;
}

function scanServable(dir: string, now: number): boolean {
  let documents: Set<number>;
  let keys: string[];
  try {
    documents = new Set(fs.readdirSync(path.join(dir, "documents")).flatMap((name) => /^(\d+)\.json$/.exec(name)?.[1] ?? []).map(Number));
    if (documents.size === 0) return false;
    keys = fs.readdirSync(path.join(dir, "keys")).filter((name) => /^[0-9a-f]{64}\.json$/.test(name));
  } catch {
    return false;
  }
  const all = tombstoneAt(dir, "all");
  const revoked = new Map<number, number>();
  const revokedAt = (environmentId: number): number => {
    let at = revoked.get(environmentId);
    if (at === undefined) revoked.set(environmentId, (at = Math.max(all, tombstoneAt(dir, String(environmentId)))));
    return at;
  };
  for (const name of keys) {
    const key = liveKey(asRecord(readJsonSync(path.join(dir, "keys", name))), revokedAt);
    if (key && documents.has(key.environmentId) && (key.validUntil === null || key.validUntil > now)) return true;
  }
  return false;
}

/** Tests and shutdown: waits for every write queued so far. */
export async function flushSnapshot(): Promise<void> {
  const current = slot.get();
  while (current && current.writes.size > 0) await Promise.all([...current.writes.values()]);
}

/** Tests: re-reads the settings (directory) and forgets what was loaded. */
export function resetSnapshotForTests(): void {
  slot.set(undefined);
}
