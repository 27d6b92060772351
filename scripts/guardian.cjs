#!/usr/bin/env node
// Orphan guard for the launcher (see src/server/db/embedded.ts). Reads pids on stdin, one per line;
// the first is postgres. When the watched launcher pid disappears it sends SIGTERM to the others,
// then SIGINT (fast shutdown) to postgres, and exits. "exit" on stdin means a clean shutdown.
"use strict";
const watched = Number(process.argv[2]);
const pids = [];
let done = false;

process.stdin.setEncoding("utf8");
let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let index;
  while ((index = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, index).trim();
    buffer = buffer.slice(index + 1);
    if (line === "exit") {
      done = true;
      process.exit(0);
    }
    const pid = Number(line);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
});
// The launcher's end of the pipe closing without "exit" means the launcher died.
process.stdin.on("end", () => {
  if (!done) cleanup();
});

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function cleanup() {
  if (done) return;
  done = true;
  const [postgres, ...others] = pids;
  for (const pid of others) if (alive(pid)) try { process.kill(pid, "SIGTERM"); } catch {}
  setTimeout(() => {
    for (const pid of others) if (alive(pid)) try { process.kill(pid, "SIGKILL"); } catch {}
    if (postgres && alive(postgres)) try { process.kill(postgres, "SIGINT"); } catch {}
    process.exit(0);
  }, 3000);
}

setInterval(() => {
  if (!alive(watched)) cleanup();
}, 500);
