export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { initTracing } = await import("@/server/observability/tracing");
    initTracing();
  }
}
