/**
 * Where this web process serves flagd gRPC sync (set by api/flagd-sync-server.ts when it listens,
 * cleared when it stops), for the admin UI's flagd panel and Connect page. A process slot: the
 * server runs beside Next.js, whose bundles read it through flagd/service.ts. Null: not served by
 * this process (FLAGD_SYNC_PORT=0, `npm run dev`, or stopping).
 */
import { processSlot } from "@/server/singleton";

export interface GrpcSyncStatus {
  /** The address it is bound to (FLAGD_SYNC_HOST). */
  host: string;
  port: number;
  tls: boolean;
  /** The default port (8015) was taken when the process started, so this one was chosen instead. */
  defaultPortTaken: boolean;
}

const slot = processSlot<GrpcSyncStatus | null>("flagdGrpcSyncStatus");

export function grpcSyncStatus(): GrpcSyncStatus | null {
  return slot.get() ?? null;
}

export function setGrpcSyncStatus(status: GrpcSyncStatus | null): void {
  slot.set(status);
}
