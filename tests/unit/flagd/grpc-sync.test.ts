/**
 * flagd gRPC sync's protocol rules (src/server/flagd/grpc-sync.ts): where the key is read from, what each refusal
 * answers (the twin of the HTTP endpoint's statuses), and the vendored proto's wire shape.
 */
import fs from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { credentialOf, flagSyncServiceDefinition, REFUSALS, SERVICE_NAME, statusOf } from "@/server/flagd/grpc-sync";

function metadata(entries: Record<string, string>): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) out.set(key, value);
  return out;
}

describe("flagd gRPC sync protocol", () => {
  it("credentialOf__whereTheKeyTravels__bearerThenSelectorHeaderThenRequestField", () => {
    // Given calls carrying the key in each place a client can put it
    const key = "ser.abcdefghijklmnop";

    // When the credential is read
    // Then authorization: Bearer wins (and nothing else is read when authorization is sent), then the
    // flagd-selector header (what providers send today), then the deprecated request field
    expect(credentialOf(metadata({ authorization: `Bearer ${key}` }), { selector: "ser.other-key-123" })).toBe(key);
    expect(credentialOf(metadata({ authorization: `bearer   ${key}  ` }), {})).toBe(key);
    expect(credentialOf(metadata({ authorization: `Basic ${key}` }), { selector: key })).toBeNull();
    expect(credentialOf(metadata({ "flagd-selector": ` ${key} ` }), { selector: "ser.other-key-123" })).toBe(key);
    expect(credentialOf(metadata({}), { selector: key })).toBe(key);
    expect(credentialOf(metadata({}), { selector: "  " })).toBeNull();
    expect(credentialOf(metadata({}), undefined)).toBeNull();
  });

  it("refusals__everyGateReason__mapsToTheGrpcTwinOfTheHttpStatus", () => {
    // Given the refusal table
    // When each reason is looked up
    const codes = Object.fromEntries(Object.entries(REFUSALS).map(([reason, status]) => [reason, grpc.status[status.code]]));

    // Then 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → NOT_FOUND, 503 → UNAVAILABLE (providers retry)
    expect(codes).toEqual({
      missing_key: "UNAUTHENTICATED",
      unknown_key: "UNAUTHENTICATED",
      stop_serving_flags: "UNAUTHENTICATED",
      server_key_required: "PERMISSION_DENIED",
      integration_off: "NOT_FOUND",
      gate_closed: "UNIMPLEMENTED",
      document_unavailable: "UNAVAILABLE",
      database_unavailable: "UNAVAILABLE",
    });
    for (const status of Object.values(REFUSALS)) expect(status.details).not.toMatch(/ser\.[A-Za-z0-9]/);
  });

  it("statusOf__closedRolloutGate__unimplementedNamingTheMethodLikeAServerWithoutTheService", () => {
    // Given the refusal of a closed flagd_grpc_sync gate and another refusal
    // When each is answered on each method
    const closed = (["SyncFlags", "FetchAllFlags", "GetMetadata"] as const).map((method) => statusOf("gate_closed", method));
    const other = statusOf("integration_off", "FetchAllFlags");

    // Then a closed gate answers grpc-js's own UNIMPLEMENTED for that method; other refusals are the table's
    expect(closed).toEqual(
      ["SyncFlags", "FetchAllFlags", "GetMetadata"].map((method) => ({ code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method /flagd.sync.v1.FlagSyncService/${method}` })),
    );
    expect(other).toBe(REFUSALS.integration_off);
  });

  it("flagSyncServiceDefinition__vendoredProto__flagdSyncV1WireShapeWithProvenance", () => {
    // Given the vendored proto and its provenance
    const root = path.resolve(__dirname, "../../../src/server/flagd/proto");
    const provenance = fs.readFileSync(path.join(root, "PROVENANCE.txt"), "utf8");

    // When the service is loaded
    const { definition, encodeDocument, metadataResponse } = flagSyncServiceDefinition();

    // Then it is flagd.sync.v1.FlagSyncService (paths as flagd's clients call them), a document travels as
    // field 1 (flag_configuration) without sync_context, GetMetadata answers an empty struct, and the
    // request's selector and provider_id decode
    expect(SERVICE_NAME).toBe("flagd.sync.v1.FlagSyncService");
    expect(Object.values(definition).map((method) => method.path)).toEqual([
      "/flagd.sync.v1.FlagSyncService/SyncFlags",
      "/flagd.sync.v1.FlagSyncService/FetchAllFlags",
      "/flagd.sync.v1.FlagSyncService/GetMetadata",
    ]);
    expect(definition.SyncFlags.responseStream).toBe(true);
    expect([...encodeDocument("{}")]).toEqual([0x0a, 2, 0x7b, 0x7d]);
    expect([...metadataResponse]).toEqual([0x12, 0]);
    expect(definition.SyncFlags.requestDeserialize(Buffer.from([0x0a, 1, 0x70, 0x12, 2, 0x73, 0x6b]))).toEqual({ providerId: "p", selector: "sk" });
    expect(provenance).toContain("open-feature/flagd-schemas");
    expect(provenance).toContain("741a7f8e7dc309a6e3a9c4259edbe52c89488ea9");
    expect(fs.readFileSync(path.join(root, "LICENSE"), "utf8")).toContain("Apache License");
  });
});
