/** `npm run test:e2e`: build if needed, then Playwright. */
import { spawnSync } from "node:child_process";
import { ensureBuilt } from "../tests/support/system";

ensureBuilt();
const result = spawnSync("npx", ["playwright", "test", ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
