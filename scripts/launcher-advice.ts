/**
 * What the launcher says when `npm start` finds another Flagpost running on its data directory: two
 * embedded PostgreSQL servers cannot share one, so the second instance needs its own data directory
 * (a separate database) and its own PORT — exactly how, as a command to copy. Its other ports (flagd
 * gRPC sync, both /metrics) move to free ones by themselves when their defaults are taken.
 */

export interface RunningInstance {
  pid: number;
  /** Its PORT, when its launcher recorded it. */
  port?: number;
}

/** The PORT to suggest for a second instance: the one asked for, unless the running instance has it. */
export function secondInstancePort(requested: number, running: RunningInstance): number {
  return running.port === undefined ? (requested === 3000 ? 3001 : requested) : requested === running.port ? running.port + 1 : requested;
}

/** `word` as a shell reads it back: quoted when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[\w./@%+=:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function secondInstanceAdvice(options: { running: RunningInstance; dataDir: string; port: number; command: string }): string {
  const { running, dataDir, command } = options;
  const port = secondInstancePort(options.port, running);
  const where = running.port === undefined ? "" : ` at port ${running.port}`;
  return (
    `Flagpost (pid ${running.pid}) is already running${where} on ${dataDir}/, and its PostgreSQL uses that data directory.\n` +
    `  A second instance needs a data directory (its own database) and a port of its own:\n` +
    `    FLAGPOST_DATA_DIR=${shellWord(`${dataDir}-${port}`)} PORT=${port} ${command}\n` +
    `  Or stop the running one first.`
  );
}
