/**
 * The architecture rules (eslint-rules/flagpost.mjs) fail on violating imports: each case lints a
 * small source as if it were a file of src/ and checks which flagpost rule reports it.
 */
import path from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../../..");
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

async function flagpostRules(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((message) => message.ruleId ?? "parse-error").filter((rule) => rule.startsWith("flagpost/") || rule === "parse-error");
}

describe("flagpost/layers", { timeout: 60_000 }, () => {
  it.each([
    ["engine imports a domain", "src/server/engine/fixture.ts", 'import { storeDocument } from "@/server/documents/store";\nexport const x = storeDocument;\n'],
    ["engine imports plumbing", "src/server/engine/fixture.ts", 'import { settings } from "@/server/config";\nexport const x = settings;\n'],
    ["plumbing imports a domain", "src/server/db/fixture.ts", 'import { listFeatures } from "@/server/features/service";\nexport const x = listFeatures;\n'],
    ["plumbing imports a domain's types", "src/server/trpc/fixture.ts", 'import type { Principal } from "@/server/auth/principal";\nexport type X = Principal;\n'],
    ["a domain imports a higher one (would close a cycle)", "src/server/segments/fixture.ts", 'import { listFeatures } from "@/server/features/service";\nexport const x = listFeatures;\n'],
    ["documents imports publishing", "src/server/documents/fixture.ts", 'import { writeEnvironmentDocument } from "@/server/publishing/write-document";\nexport const x = writeEnvironmentDocument;\n'],
    ["two protocols of one layer", "src/server/flagd/fixture.ts", 'import { authenticate } from "@/server/sdk/http";\nexport const x = authenticate;\n'],
    ["the read side imports a protocol", "src/server/serving/fixture.ts", 'import { identityCache } from "@/server/sdk/identity-cache";\nexport const x = identityCache;\n'],
    ["anything below imports the assemblies", "src/server/sdk/fixture.ts", 'import { appRouter } from "@/server/api/trpc-router";\nexport const x = appRouter;\n'],
    ["the server imports the worker", "src/server/publishing/fixture.ts", 'import { TASKS } from "@/worker/tasks";\nexport const x = TASKS;\n'],
    ["plumbing imports a domain dynamically", "src/server/db/fixture.ts", 'export async function x() {\n  return (await import("@/server/features/service")).listFeatures;\n}\n'],
    ["the engine imports plumbing dynamically (template literal)", "src/server/engine/fixture.ts", "export const x = () => import(`@/server/config`);\n"],
  ])("layers__%s__reported", async (_case, file, code) => {
    // Given a source that imports against the layers
    // When linting it as that file
    const rules = await flagpostRules(file, code);

    // Then the layers rule reports it
    expect(rules).toContain("flagpost/layers");
  });

  it.each([
    ["a domain imports a lower one", "src/server/features/fixture.ts", 'import { loadSegment } from "@/server/segments/service";\nexport const x = loadSegment;\n'],
    ["a protocol imports the read side", "src/server/flagd/fixture.ts", 'import { openEnvironment } from "@/server/serving/gate";\nexport const x = openEnvironment;\n'],
    ["the engine imports itself", "src/server/engine/fixture.ts", 'import { hashedPercentageForObjIds } from "./hashing";\nexport const x = hashedPercentageForObjIds;\n'],
    ["the worker imports the server", "src/worker/fixture.ts", 'import { writeEnvironmentDocument } from "@/server/publishing/write-document";\nexport const x = writeEnvironmentDocument;\n'],
  ])("layers__%s__allowed", async (_case, file, code) => {
    // Given a source whose imports run downwards
    // When linting it as that file
    const rules = await flagpostRules(file, code);

    // Then no architecture rule reports it
    expect(rules).toEqual([]);
  });
});

describe("flagpost/import-style", { timeout: 60_000 }, () => {
  it("importStyle__parentRelativeImport__reported", async () => {
    // Given a relative import that climbs out of its directory
    const code = 'import { getDb } from "../db/client";\nexport const x = getDb;\n';

    // When linting it
    const rules = await flagpostRules("src/server/features/fixture.ts", code);

    // Then the import-style rule asks for the alias
    expect(rules).toContain("flagpost/import-style");
  });

  it("importStyle__sameDirectoryImport__allowed", async () => {
    // Given a relative import within the directory
    const code = 'import { lockState } from "./states";\nexport const x = lockState;\n';

    // When linting it
    const rules = await flagpostRules("src/server/features/fixture.ts", code);

    // Then nothing is reported
    expect(rules).toEqual([]);
  });
});

describe("flagpost/client-boundary", { timeout: 60_000 }, () => {
  it("clientBoundary__clientComponentImportsServerOnlyValue__reported", async () => {
    // Given a client component importing the database client
    const code = '"use client";\nimport { getDb } from "@/server/db/client";\nexport const x = getDb;\n';

    // When linting it as a component
    const rules = await flagpostRules("src/app/_components/fixture.tsx", code);

    // Then the client-boundary rule reports it
    expect(rules).toContain("flagpost/client-boundary");
  });

  it("clientBoundary__clientComponentImportsTypesAndSharedModules__allowed", async () => {
    // Given a client component importing a type of the router and a shared pure validator
    const code = '"use client";\nimport type { AppRouter } from "@/server/api/trpc-router";\nimport { validateSegment } from "@/server/segments/validation";\nexport type R = AppRouter;\nexport const v = validateSegment;\n';

    // When linting it
    const rules = await flagpostRules("src/app/_components/fixture.tsx", code);

    // Then nothing is reported
    expect(rules).toEqual([]);
  });

  it("clientBoundary__clientComponentImportsServerOnlyValueDynamically__reported", async () => {
    // Given a client component loading the database client with a dynamic import
    const code = '"use client";\nexport async function x() {\n  return (await import("@/server/db/client")).getDb;\n}\n';

    // When linting it as a component
    const rules = await flagpostRules("src/app/_components/fixture.tsx", code);

    // Then the client-boundary rule reports it
    expect(rules).toContain("flagpost/client-boundary");
  });

  it("clientBoundary__appHelperWithoutMarkerImportsServerOnlyValue__reportedUnlessServerOnly", async () => {
    // Given a helper module of src/app (no "use client": client components may import it) importing the database
    // client, the same with `import "server-only"`, a page (a server component) doing it, and a helper importing a type
    const helper = 'import { getDb } from "@/server/db/client";\nexport const x = getDb;\n';

    // When linting each
    const unmarked = await flagpostRules("src/app/_components/fixture.ts", helper);
    const serverOnly = await flagpostRules("src/app/_components/fixture.ts", `import "server-only";\n${helper}`);
    const page = await flagpostRules("src/app/(app)/fixture/page.tsx", helper);
    const typeOnly = await flagpostRules("src/app/_components/fixture.ts", 'import type { AppRouter } from "@/server/api/trpc-router";\nexport type R = AppRouter;\n');

    // Then only the unmarked helper's value import is reported
    expect(unmarked).toContain("flagpost/client-boundary");
    expect(serverOnly).toEqual([]);
    expect(page).toEqual([]);
    expect(typeOnly).toEqual([]);
  });

  it("clientBoundary__sharedModuleImportsServerOnlyCode__reported", async () => {
    // Given a module the UI shares (segment validation) importing Node's crypto and the database
    const code = 'import { createHash } from "node:crypto";\nimport { getDb } from "@/server/db/client";\nexport const x = [createHash, getDb];\n';

    // When linting it as that module
    const rules = await flagpostRules("src/server/segments/validation.ts", code);

    // Then both imports are reported
    expect(rules.filter((rule) => rule === "flagpost/client-boundary")).toHaveLength(2);
  });
});
