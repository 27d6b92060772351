import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createTrpcContext } from "@/server/trpc/context";
import { appRouter } from "@/server/api/trpc-router";

// Per-procedure context, spans and metrics live in the tRPC middleware (src/server/trpc/init.ts).
const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: createTrpcContext,
    // Lets a query be sent as POST (the UI does so for `sdk.evaluateContext`, whose input can be
    // larger than an address holds). It stays a query: no mutation middleware, nothing written.
    allowMethodOverride: true,
  });

export { handler as GET, handler as POST };
