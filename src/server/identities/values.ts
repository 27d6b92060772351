/** Trait values as the admin API accepts them (the SDK API parses its own: sdk/traits.ts). */
import { z } from "zod";
import { text } from "@/server/input";

/** Trait values: Flagsmith keeps int, float, bool and str; strings are limited in length. */
export const MAX_TRAIT_STRING_LENGTH = 2_000;
export const traitValue = z.union(
  [
    text().max(MAX_TRAIT_STRING_LENGTH, `Trait values are limited to ${MAX_TRAIT_STRING_LENGTH} characters`),
    z.number().finite(),
    z.boolean(),
    z.null(),
  ],
  { error: "A trait value must be text, a number, true/false, or empty" },
);
