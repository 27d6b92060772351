import { handleTrpcRequest } from "@/server/api/trpc-handler";

// Limits (batch size, body size, input depth) in the handler; per-procedure context, spans and
// metrics in the tRPC middleware (src/server/trpc/init.ts).
export { handleTrpcRequest as GET, handleTrpcRequest as POST };
