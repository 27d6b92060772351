/**
 * Every text field of every tRPC procedure's input goes through the shared text validator
 * (src/server/input.ts): walks each procedure's zod input schema and tries the string schemas it
 * finds with hostile text.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { appRouter } from "@/server/api/trpc-router";
import { TEXT_MESSAGES } from "@/server/input";

type Schema = z.ZodType & { def: { type: string } & Record<string, unknown> };

/** The string schemas inside a schema, with their paths (`create.name`, `tags[]`, `value|0`). */
function stringSchemas(schema: Schema, path: string, out: { path: string; schema: Schema }[] = []): { path: string; schema: Schema }[] {
  const def = schema.def;
  switch (def.type) {
    case "string":
      out.push({ path, schema });
      break;
    case "object":
      for (const [key, child] of Object.entries(def.shape as Record<string, Schema>)) stringSchemas(child, `${path}.${key}`, out);
      break;
    case "optional":
    case "nullable":
    case "default":
    case "nonoptional":
    case "readonly":
    case "catch":
      stringSchemas(def.innerType as Schema, path, out);
      break;
    case "array":
      stringSchemas(def.element as Schema, `${path}[]`, out);
      break;
    case "union":
      (def.options as Schema[]).forEach((option, index) => stringSchemas(option, `${path}|${index}`, out));
      break;
    case "pipe":
      stringSchemas(def.in as Schema, path, out);
      break;
    default:
      break;
  }
  return out;
}

const procedures = Object.entries((appRouter._def as unknown as { procedures: Record<string, { _def: { inputs: Schema[] } }> }).procedures);

describe("tRPC input schemas", () => {
  it("everyStringField__nulOrUnpairedSurrogate__refusedByTheSharedValidator", () => {
    // Given every string schema in every procedure's input
    const strings = procedures.flatMap(([name, procedure]) => procedure._def.inputs.flatMap((input) => stringSchemas(input, name)));
    expect(strings.length).toBeGreaterThan(40);

    // When each is given text PostgreSQL cannot store
    const accepted = strings.flatMap(({ path, schema }) =>
      ["ok\u0000", "ok\ud800"].flatMap((value) => {
        const result = schema.safeParse(value);
        const messages = result.success ? [] : result.error.issues.map((issue) => issue.message);
        return messages.includes(TEXT_MESSAGES.nul) || messages.includes(TEXT_MESSAGES.surrogate) ? [] : [`${path} ${JSON.stringify(value)}`];
      }),
    );

    // Then every one refuses it with the shared message
    expect(accepted).toEqual([]);
  });
});
