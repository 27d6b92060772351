/**
 * `imports.previewFlagsmith({ projectId, document })` and `imports.flagsmith({ projectId, document,
 * planHash? })` — admin only. The preview runs the import in a transaction that is rolled back and
 * answers what it would create or reuse (features, segments, overrides, identities) with warnings and
 * a `planHash`; the import, given that hash, applies only if it would do exactly the same (else
 * CONFLICT on `planHash`). The import returns the environment's client key (the document's own) and
 * a new server-side key, shown once.
 *
 * Size: the document travels in the tRPC request body, which Next.js route handlers read whole; both
 * procedures refuse documents over MAX_IMPORT_DOCUMENT_BYTES (serialised) with PAYLOAD_TOO_LARGE, and
 * the UI checks the file size before sending. Larger documents: `npm run import:flagsmith`.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { jsonDepthExceeds, MAX_JSON_DEPTH, text } from "@/server/input";
import { id, router } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope, type AuthedContext } from "@/server/auth/procedures";
import { importFlagsmithEnvironment, previewFlagsmithImport } from "./flagsmith";

export const MAX_IMPORT_DOCUMENT_BYTES = 20 * 1024 * 1024;

function checkSize(document: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(document ?? null), "utf8");
  if (bytes > MAX_IMPORT_DOCUMENT_BYTES) {
    throw new TRPCError({
      code: "PAYLOAD_TOO_LARGE",
      message: `The document is ${Math.ceil(bytes / 1024 / 1024)} MB; the web import takes up to ${MAX_IMPORT_DOCUMENT_BYTES / 1024 / 1024} MB (use npm run import:flagsmith for larger ones)`,
    });
  }
}

function importTarget(ctx: AuthedContext) {
  requireAdmin(ctx);
  const scope = requireScope(ctx, "project");
  return { organisationId: scope.organisationId, projectId: scope.projectId };
}

// Checked before anything recursive (the size check serialises the document) sees it.
const document = z.unknown().refine((value) => !jsonDepthExceeds(value), `The document is nested more than ${MAX_JSON_DEPTH} levels deep`);

const planHash = text().regex(/^[0-9a-f]{64}$/, "Preview the import again");

export const importsRouter = router({
  previewFlagsmith: protectedProcedure.input(z.object({ projectId: id, document })).mutation(async ({ ctx, input }) => {
    const target = importTarget(ctx);
    checkSize(input.document);
    return previewFlagsmithImport(ctx.actor, input.document, target);
  }),
  flagsmith: protectedProcedure.input(z.object({ projectId: id, document, planHash: planHash.optional() })).mutation(async ({ ctx, input }) => {
    const target = importTarget(ctx);
    checkSize(input.document);
    const result = await importFlagsmithEnvironment(ctx.actor, input.document, target, { expectedPlanHash: input.planHash });
    return {
      environmentId: result.environmentId,
      environmentKey: result.environmentKey,
      environmentName: result.environmentName,
      projectId: result.projectId,
      serverKey: result.serverKey,
      counts: result.counts,
    };
  }),
});
