import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";
import flagpost from "./eslint-rules/flagpost.mjs";

export default defineConfig([
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      // `any` needs a reason (see DESIGN.md); an explicit disable comment carries it.
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/ban-ts-comment": ["error", { "ts-expect-error": "allow-with-description" }],
      // graphile-worker's task registry is a global namespace (`declare global { namespace GraphileWorker … }`).
      "@typescript-eslint/no-namespace": ["error", { allowDeclarations: true }],
    },
  },
  {
    // Architecture (docs/architecture.md): layers, one import style, the client/server boundary.
    files: ["src/**/*.{ts,tsx}"],
    plugins: { flagpost },
    rules: {
      "flagpost/layers": "error",
      "flagpost/import-style": "error",
      "flagpost/client-boundary": "error",
    },
  },
  {
    // Pages navigate through the wrapper, which shows the navigation progress bar.
    files: ["src/app/**/*.{ts,tsx}"],
    ignores: ["src/app/_components/navigation.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "next/navigation", importNames: ["useRouter"], message: "Use useRouter from @/app/_components/navigation (it shows the navigation progress)." }] },
      ],
    },
  },
  {
    files: ["scripts/**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  globalIgnores([".next/**", "out/**", "build/**", "next-env.d.ts", ".data/**", "test-results/**", "playwright-report/**", "node_modules/**"]),
]);
