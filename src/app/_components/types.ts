/** Procedure output types for components (inferred from the tRPC router; types only). */
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/api/trpc-router";

export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** A typed flag value: text, whole number, true/false, or none. */
export type FlagValue = string | number | boolean | null;
