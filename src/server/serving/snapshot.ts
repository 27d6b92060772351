/**
 * The optional on-disk snapshot of a web process (`FLAGPOST_DOCUMENT_CACHE_DIR`, off by default):
 * the documents it serves and what it needs to authenticate their keys, so that a process started
 * while PostgreSQL is unreachable can serve its last good documents.
 *
 *   <dir>/documents/<environment id>.json   the stored document row as last loaded (newest revision)
 *   <dir>/keys.json                         sha256(key) → environment, project, organisation, kind,
 *                                           expiry. Keys are never written in clear.
 *
 * Written after each load of a new revision and each key resolved from the database (atomically:
 * a temporary file renamed over the old one), read only when the database cannot answer. Entries
 * read from it are revalidated as soon as the database answers. A process that cannot write it
 * logs `snapshot.write_failed` once and keeps serving.
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

interface SnapshotState {
  dir: string | null;
  keys: Map<string, SnapshotKey> | null;
  keysDirty: boolean;
  keysTimer: NodeJS.Timeout | null;
  writtenRevisions: Map<number, number>;
  writeFailedLogged: boolean;
}

const slot = processSlot<SnapshotState>("documentSnapshot");

function state(): SnapshotState {
  return slot.getOrCreate(() => ({ dir: settings().documentCacheDir ?? null, keys: null, keysDirty: false, keysTimer: null, writtenRevisions: new Map(), writeFailedLogged: false }));
}

export function snapshotEnabled(): boolean {
  return state().dir !== null;
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

async function writeAtomically(file: string, contents: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(temporary, contents, { mode: 0o600 });
  await fs.promises.rename(temporary, file);
}

function writeFailed(current: SnapshotState, error: unknown): void {
  if (current.writeFailedLogged) return;
  current.writeFailedLogged = true;
  log.warn("snapshot.write_failed", { error });
}

/** Remembers a loaded document (newer revisions only); fire and forget. */
export function snapshotDocument(document: Omit<SnapshotDocument, "writtenAt">): void {
  const current = state();
  if (!current.dir) return;
  if ((current.writtenRevisions.get(document.environmentId) ?? -1) >= document.revision) return;
  current.writtenRevisions.set(document.environmentId, document.revision);
  const file = path.join(current.dir, "documents", `${document.environmentId}.json`);
  writeAtomically(file, JSON.stringify({ ...document, writtenAt: Date.now() })).catch((error: unknown) => writeFailed(current, error));
}

/** The snapshot of an environment's document, or null (no snapshot directory, none written, unreadable). */
export async function readSnapshotDocument(environmentId: number): Promise<SnapshotDocument | null> {
  const dir = state().dir;
  if (!dir) return null;
  try {
    const parsed = JSON.parse(await fs.promises.readFile(path.join(dir, "documents", `${environmentId}.json`), "utf8")) as SnapshotDocument;
    return parsed.environmentId === environmentId && typeof parsed.document === "string" ? parsed : null;
  } catch {
    return null;
  }
}

function keys(current: SnapshotState): Map<string, SnapshotKey> {
  if (current.keys) return current.keys;
  current.keys = new Map();
  if (current.dir) {
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(current.dir, "keys.json"), "utf8")) as Record<string, SnapshotKey>;
      for (const [hash, key] of Object.entries(parsed)) if (/^[0-9a-f]{64}$/.test(hash)) current.keys.set(hash, key);
    } catch {
      // No snapshot yet, or unreadable: nothing to serve from.
    }
  }
  return current.keys;
}

function persistKeysSoon(current: SnapshotState): void {
  current.keysDirty = true;
  if (current.keysTimer || !current.dir) return;
  current.keysTimer = setTimeout(() => {
    current.keysTimer = null;
    if (!current.keysDirty || !current.dir) return;
    current.keysDirty = false;
    writeAtomically(path.join(current.dir, "keys.json"), JSON.stringify(Object.fromEntries(keys(current)))).catch((error: unknown) => writeFailed(current, error));
  }, 200);
  current.keysTimer.unref();
}

/** Remembers what a key resolved to (null: unknown, forgotten). */
export function snapshotKey(key: string, value: SnapshotKey | null): void {
  const current = state();
  if (!current.dir) return;
  const hash = hashKey(key);
  const map = keys(current);
  const known = map.get(hash);
  if (value === null) {
    if (!known) return;
    map.delete(hash);
  } else {
    if (known && known.environmentId === value.environmentId && known.kind === value.kind && known.validUntil === value.validUntil && known.projectId === value.projectId && known.organisationId === value.organisationId) return;
    map.set(hash, value);
  }
  persistKeysSoon(current);
}

/** Forgets the keys of these environments (null: all): revoked, or the environment deleted. */
export function forgetSnapshotKeys(environmentIds: ReadonlySet<number> | null): void {
  const current = state();
  if (!current.dir) return;
  const map = keys(current);
  let changed = false;
  for (const [hash, key] of map) {
    if (environmentIds === null || environmentIds.has(key.environmentId)) {
      map.delete(hash);
      changed = true;
    }
  }
  if (changed) persistKeysSoon(current);
}

/** What the snapshot knows of a key (undefined: nothing). */
export function snapshotKeyOf(key: string): SnapshotKey | undefined {
  const current = state();
  if (!current.dir) return undefined;
  return keys(current).get(hashKey(key));
}

/** Tests and shutdown: writes pending key changes now. */
export async function flushSnapshot(): Promise<void> {
  const current = state();
  if (current.keysTimer) {
    clearTimeout(current.keysTimer);
    current.keysTimer = null;
  }
  if (current.dir && current.keysDirty) {
    current.keysDirty = false;
    await writeAtomically(path.join(current.dir, "keys.json"), JSON.stringify(Object.fromEntries(keys(current)))).catch((error: unknown) => writeFailed(current, error));
  }
}

/** Tests: re-reads the settings (directory) and forgets what was loaded. */
export function resetSnapshotForTests(): void {
  const current = slot.get();
  if (current?.keysTimer) clearTimeout(current.keysTimer);
  slot.set(undefined);
}
