/**
 * Typed flag values: a string, an integer, a boolean, or none (null) — the value types of
 * Flagsmith's FeatureStateValue. Anything else (floats, objects, arrays) is rejected as bad input.
 */
import { z } from "zod";
import { text } from "@/server/input";

export const MAX_STRING_VALUE_LENGTH = 20_000;

export const featureValue = z.union(
  [
    text().max(MAX_STRING_VALUE_LENGTH, `Text values are limited to ${MAX_STRING_VALUE_LENGTH} characters`),
    z.number().int("Numbers must be whole numbers").min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
    z.boolean(),
    z.null(),
  ],
  { error: "A value must be text, a whole number, true/false, or empty" },
);

export type FeatureValue = z.infer<typeof featureValue>;

export const MAX_ALLOCATION = 100;

/** Validates multivariate allocations: each 0–100 and a sum ≤ 100 (allowing float noise). */
export function checkAllocations(allocations: number[]): string | null {
  for (const allocation of allocations) {
    if (!Number.isFinite(allocation) || allocation < 0 || allocation > MAX_ALLOCATION) return "Each allocation must be between 0 and 100";
  }
  const sum = allocations.reduce((total, allocation) => total + allocation, 0);
  return sum > MAX_ALLOCATION + 1e-9 ? `Allocations add up to ${Math.round(sum * 1000) / 1000}%, more than 100%` : null;
}
