/** A real graphile-worker runner inside the test process, on the file's database. */
import { afterAll } from "vitest";
import { startWorker, type WorkerHandle } from "../../../src/worker/runner";

let running: WorkerHandle | undefined;

export async function startTestWorker(options: { concurrency?: number } = {}): Promise<WorkerHandle> {
  running = await startWorker({ concurrency: options.concurrency ?? 4, metricsPort: 0, recoverySweepMs: 1000 });
  return running;
}

export async function stopTestWorker(): Promise<void> {
  const handle = running;
  running = undefined;
  await handle?.stop();
}

afterAll(async () => {
  await stopTestWorker();
});
