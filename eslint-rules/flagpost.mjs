/**
 * Flagpost's architecture rules (docs/architecture.md), as ESLint rules so that `npm run lint`
 * (part of `npm test`) enforces them:
 *
 * - `flagpost/layers`: imports between folders of src/server run downwards only. Every folder has a
 *   rank (LAYERS below); a file may import its own folder or a folder of strictly lower rank, so no
 *   import runs from plumbing into a domain and no two folders can form a cycle. `engine/` imports
 *   only itself. Nothing in src/server imports src/app or src/worker.
 * - `flagpost/import-style`: one import style in src/: `@/…` for anything outside the importing
 *   file's directory, `./…` within it (no `../`).
 * - `flagpost/client-boundary`: a client component ("use client") imports from src/server only
 *   types, or the pure modules that the UI shares with the server (CLIENT_SAFE); those modules in
 *   turn import only each other (and npm packages), never server-only code.
 */
import path from "node:path";

/** Folder (or top-level file) of src/server → rank. Lower ranks are more basic. */
export const LAYERS = {
  // plumbing
  config: 0,
  errors: 0,
  singleton: 0,
  text: 0,
  input: 0,
  observability: 1,
  db: 2,
  http: 3,
  jobs: 3,
  trpc: 4,
  // the pure evaluation engine
  engine: 5,
  // domains
  documents: 10,
  auth: 11,
  audit: 12,
  projects: 13,
  segments: 14,
  identities: 15,
  features: 16,
  environments: 17,
  organisations: 18,
  imports: 19,
  rollouts: 19,
  // the read side, then the protocols and the publishing orchestration
  serving: 20,
  sdk: 21,
  flagd: 21,
  publishing: 22,
  streams: 22,
  ofrep: 23,
  // assemblies
  api: 30,
};

/** src/server modules the UI may import values from (pure: no database, no Node APIs). */
export const CLIENT_SAFE = [
  /^server\/engine\/(types|document|regex|semver|python)$/,
  /^server\/errors$/,
  /^server\/text$/,
  /^server\/input$/,
  /^server\/features\/values$/,
  /^server\/identities\/values$/,
  /^server\/segments\/validation$/,
  /^server\/imports\/validation$/,
];

/** `src/`-relative path (no extension) an import specifier names, or null for packages. */
function target(specifier, filename) {
  if (specifier.startsWith("@/")) return specifier.slice(2);
  if (!specifier.startsWith(".")) return null;
  const srcRoot = srcRootOf(filename);
  if (!srcRoot) return null;
  return path.relative(srcRoot, path.resolve(path.dirname(filename), specifier)).split(path.sep).join("/");
}

function srcRootOf(filename) {
  const parts = filename.split(path.sep);
  const index = parts.lastIndexOf("src");
  return index < 0 ? null : parts.slice(0, index + 1).join(path.sep);
}

/** `src/`-relative path of the linted file (no extension), or null outside src/. */
function self(filename) {
  const srcRoot = srcRootOf(filename);
  if (!srcRoot) return null;
  return path.relative(srcRoot, filename).split(path.sep).join("/").replace(/\.(ts|tsx|mts|js|mjs)$/, "");
}

/** The src/server folder (or top-level file) of a src-relative path, or null. */
function serverFolder(relative) {
  if (!relative.startsWith("server/")) return null;
  return relative.slice("server/".length).split("/")[0];
}

function importNodes(node, visit) {
  for (const statement of node.body) {
    if ((statement.type === "ImportDeclaration" || statement.type === "ExportNamedDeclaration" || statement.type === "ExportAllDeclaration") && statement.source) {
      visit(statement, statement.source.value, isTypeOnly(statement));
    }
  }
}

/**
 * The visitors that find every import of a file: its import/export statements (on `Program`) and its
 * dynamic `import("…")` expressions anywhere (a string literal or a template without expressions;
 * a computed specifier cannot be checked and is left alone). `visit(node, specifier, typeOnly)`.
 */
function allImports(visit, before = () => true) {
  return {
    Program(node) {
      if (before(node) === false) return;
      importNodes(node, visit);
    },
    ImportExpression(node) {
      const source = node.source;
      if (source.type === "Literal" && typeof source.value === "string") visit(node, source.value, false);
      else if (source.type === "TemplateLiteral" && source.expressions.length === 0) visit(node, source.quasis[0].value.cooked, false);
    },
  };
}

function isTypeOnly(statement) {
  if (statement.importKind === "type" || statement.exportKind === "type") return true;
  if (statement.type === "ImportDeclaration" && statement.specifiers.length > 0) return statement.specifiers.every((s) => s.importKind === "type");
  return false;
}

const layers = {
  meta: { type: "problem", schema: [], messages: {} },
  create(context) {
    const file = self(context.filename);
    if (!file) return {};
    const from = serverFolder(file);
    return allImports((statement, specifier) => {
          const to = target(specifier, context.filename);
          if (!to) return;
          if (from !== null && (to.startsWith("app/") || to.startsWith("worker/") || to === "worker")) {
            context.report({ node: statement, message: `src/server may not import ${to} (assemblies above it import the server, not the other way round).` });
            return;
          }
          const toFolder = serverFolder(to);
          if (from === null || toFolder === null || toFolder === from) return;
          if (from === "engine") {
            context.report({ node: statement, message: `engine/ is pure: it imports only itself, not ${toFolder}/.` });
            return;
          }
          const fromRank = LAYERS[from];
          const toRank = LAYERS[toFolder];
          if (fromRank === undefined) {
            context.report({ node: statement, message: `src/server/${from} has no layer: add it to LAYERS in eslint-rules/flagpost.mjs (and docs/architecture.md).` });
            return;
          }
          if (toRank === undefined || toRank >= fromRank) {
            context.report({
              node: statement,
              message: `${from}/ (layer ${fromRank}) may not import ${toFolder}/ (layer ${toRank ?? "?"}): imports run from higher layers to strictly lower ones (docs/architecture.md).`,
            });
          }
        });
  },
};

const importStyle = {
  meta: { type: "suggestion", schema: [], messages: {} },
  create(context) {
    if (!self(context.filename)) return {};
    return allImports((statement, specifier) => {
      if (specifier.startsWith("../")) {
        context.report({ node: statement, message: `Import "${specifier}" with the @/ alias: relative imports stay within their directory ("./…").` });
      }
    });
  },
};

function isClientSafe(relative) {
  return CLIENT_SAFE.some((pattern) => pattern.test(relative));
}

const clientBoundary = {
  meta: { type: "problem", schema: [], messages: {} },
  create(context) {
    const file = self(context.filename);
    if (!file) return {};
    const sharedModule = isClientSafe(file);
    // Modules of src/app that are not Next.js server entry points (route handlers, pages, layouts, …)
    // can be imported by client components, so they follow the client rules too, unless they say they
    // are server-only (`import "server-only"`).
    const appHelper = file.startsWith("app/") && !NEXT_SERVER_ENTRY.test(file);
    let kind = null; // "client" | "shared" | "app-helper" | null (unchecked), known once Program is entered
    return allImports(
      (statement, specifier, typeOnly) => {
        if (kind === null) return;
        if (kind === "shared" && specifier.startsWith("node:")) {
          context.report({ node: statement, message: `${file} is shared with the UI: it may not import ${specifier}.` });
          return;
        }
        const to = target(specifier, context.filename);
        if (!to || typeOnly || !to.startsWith("server/")) return;
        if (!isClientSafe(to)) {
          context.report({
            node: statement,
            message:
              kind === "client"
                ? `A client component may import only types from ${to} (server-only); values only from the shared pure modules (CLIENT_SAFE in eslint-rules/flagpost.mjs).`
                : kind === "shared"
                  ? `${file} is shared with the UI: it may import values only from other shared pure modules, not ${to}.`
                  : `${file} can be imported by client components: it may import only types from ${to} (server-only), or start with import "server-only".`,
          });
        }
      },
      (node) => {
        const first = node.body[0];
        const isClient = first?.type === "ExpressionStatement" && first.directive === "use client";
        const serverOnly = node.body.some((statement) => statement.type === "ImportDeclaration" && statement.source.value === "server-only");
        kind = isClient ? "client" : sharedModule ? "shared" : appHelper && !serverOnly ? "app-helper" : null;
        return kind !== null;
      },
    );
  },
};

/** Next.js server entry points under src/app (server components and handlers by definition). */
const NEXT_SERVER_ENTRY = /(^|\/)(route|page|layout|template|loading|not-found|default|icon|apple-icon|opengraph-image|twitter-image|sitemap|robots|manifest)$/;

const plugin = {
  meta: { name: "flagpost" },
  rules: { layers, "import-style": importStyle, "client-boundary": clientBoundary },
};

export default plugin;
