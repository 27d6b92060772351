/**
 * `imports.flagsmith({ projectId, document })` — admin only: imports a Flagsmith environment document
 * (already parsed JSON) into the project. Returns the environment's client key (the document's own)
 * and a new server-side key, shown once.
 *
 * Size: the document travels in the tRPC request body, which Next.js route handlers read whole; the
 * procedure refuses documents over MAX_IMPORT_DOCUMENT_BYTES (serialised) with PAYLOAD_TOO_LARGE, and
 * the UI checks the file size before sending. Larger documents: `npm run import:flagsmith`.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "@/server/input";
import { id, router } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { importFlagsmithEnvironment } from "./flagsmith";

export const MAX_IMPORT_DOCUMENT_BYTES = 20 * 1024 * 1024;

// Checked before anything recursive (the size below serialises the document) sees it.
const document = z.unknown().refine((value) => !jsonDepthExceeds(value), `The document is nested more than ${MAX_JSON_DEPTH} levels deep`);

export const importsRouter = router({
  flagsmith: protectedProcedure.input(z.object({ projectId: id, document })).mutation(async ({ ctx, input }) => {
    requireAdmin(ctx);
    const scope = requireScope(ctx, "project");
    const bytes = Buffer.byteLength(JSON.stringify(input.document ?? null), "utf8");
    if (bytes > MAX_IMPORT_DOCUMENT_BYTES) {
      throw new TRPCError({
        code: "PAYLOAD_TOO_LARGE",
        message: `The document is ${Math.ceil(bytes / 1024 / 1024)} MB; the web import takes up to ${MAX_IMPORT_DOCUMENT_BYTES / 1024 / 1024} MB (use npm run import:flagsmith for larger ones)`,
      });
    }
    const result = await importFlagsmithEnvironment(ctx.actor, input.document, { organisationId: scope.organisationId, projectId: scope.projectId });
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
