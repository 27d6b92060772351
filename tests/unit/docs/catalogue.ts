/** Static inventory of the events and metrics defined in src/, for the documentation tests. */
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../../..");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** `<logger>.<event>` for every `log.<level>("event", …)` on a `getLogger("<logger>")` logger. */
export function emittedEvents(): Map<string, string[]> {
  const events = new Map<string, string[]>();
  for (const file of [...sourceFiles(path.join(ROOT, "src")), ...sourceFiles(path.join(ROOT, "scripts"))]) {
    // Comments may show example calls; only code counts.
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const binding of text.matchAll(/const\s+(\w+)\s*=\s*getLogger\(\s*"([\w-]+)"\s*\)/g)) {
      const [, variable, logger] = binding;
      const calls = new RegExp(`\\b${variable}\\.(?:debug|info|warn|error)\\(\\s*"([a-z0-9_.]+)"`, "g");
      for (const call of text.matchAll(calls)) {
        const name = `${logger}.${call[1]}`;
        events.set(name, [...(events.get(name) ?? []), path.relative(ROOT, file)]);
      }
    }
  }
  return events;
}

/** Names of the metrics defined with counter()/histogram()/gauge() in src/. */
export function definedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, "src"))) {
    const text = fs.readFileSync(file, "utf8");
    for (const match of text.matchAll(/\b(?:counter|histogram|gauge)(?:<[^>]*>)?\(\s*"([a-z_:][a-z0-9_:]*)"/g)) names.add(match[1]);
  }
  return names;
}

export function documentedNames(doc: string): Set<string> {
  const text = fs.readFileSync(path.join(ROOT, "docs", doc), "utf8");
  const names = new Set<string>();
  for (const match of text.matchAll(/^#{2,4}\s+`([^`]+)`/gm)) names.add(match[1]);
  return names;
}
