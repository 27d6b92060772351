import { z } from "zod";
import { MAX_INDEXED_TEXT_BYTES, text } from "@/server/input";
import { id, router } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { traitValue } from "./values";
import {
  createIdentity,
  DEFAULT_PAGE_SIZE,
  deleteIdentity,
  deleteTrait,
  findOrCreateIdentity,
  listIdentities,
  MAX_IDENTIFIER_LENGTH,
  MAX_PAGE_SIZE,
  MAX_TRAIT_KEY_LENGTH,
  setTrait,
} from "./service";

// Inputs name the entities they touch by top-level ids (environmentId, identityId): the scope
// middleware resolves and access-checks them (and that they belong to the same project /
// environment) before any procedure body runs. The identity page's `get` and the identity-override
// procedures are feature-state procedures (features/router.ts), merged under `identities` by the
// root router.

/** Identifiers are kept exactly as given (SDKs send them verbatim), but cannot be blank. */
const identifier = text({ maxBytes: MAX_IDENTIFIER_LENGTH })
  .max(MAX_IDENTIFIER_LENGTH, `Identifiers are limited to ${MAX_IDENTIFIER_LENGTH} characters`)
  .refine((text) => text.trim().length > 0, "Identifier is required");
const traitKey = text({ maxBytes: MAX_INDEXED_TEXT_BYTES })
  .max(MAX_TRAIT_KEY_LENGTH, `Trait keys are limited to ${MAX_TRAIT_KEY_LENGTH} characters`)
  .refine((text) => text.trim().length > 0, "Trait key is required");
const search = text().trim().max(MAX_IDENTIFIER_LENGTH).optional();
const cursor = text().max(MAX_IDENTIFIER_LENGTH).optional();
const limit = z.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE);

export const identitiesRouter = router({
  /** Identities of an environment, identifiers ascending; `nextCursor` pages on. */
  list: protectedProcedure
    .input(z.object({ environmentId: id, search, cursor, limit }))
    .query(({ ctx, input }) =>
      listIdentities({ environmentId: requireScope(ctx, "environment").environmentId, search: input.search || undefined, cursor: input.cursor, limit: input.limit }),
    ),
  create: protectedProcedure
    .input(z.object({ environmentId: id, identifier }))
    .mutation(({ ctx, input }) => createIdentity(ctx.actor, requireScope(ctx, "environment").environmentId, input.identifier)),
  /** The identity with exactly this identifier, created when there is none (adding an override by identifier). */
  ensure: protectedProcedure
    .input(z.object({ environmentId: id, identifier }))
    .mutation(({ ctx, input }) => findOrCreateIdentity(ctx.actor, requireScope(ctx, "environment").environmentId, input.identifier)),
  delete: protectedProcedure.input(z.object({ identityId: id })).mutation(({ ctx, input }) => deleteIdentity(ctx.actor, input.identityId)),

  /** Sets a trait (a null value removes it); returns the identity's traits. */
  setTrait: protectedProcedure
    .input(z.object({ identityId: id, key: traitKey, value: traitValue }))
    .mutation(({ ctx, input }) => setTrait(ctx.actor, input.identityId, input.key, input.value)),
  deleteTrait: protectedProcedure
    .input(z.object({ identityId: id, key: traitKey }))
    .mutation(({ ctx, input }) => deleteTrait(ctx.actor, input.identityId, input.key)),
});
