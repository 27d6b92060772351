/**
 * Per-process state shared by every copy of a module. Next.js bundles route handlers separately
 * (each bundle evaluates its own copy of a module), and the web server's direct path loads yet
 * another: state that must be one per process (the pool, the caches, the change listener, the
 * metrics registry) lives on globalThis under `Symbol.for("flagpost.<name>")`.
 */
export interface ProcessSlot<T> {
  get(): T | undefined;
  set(value: T | undefined): void;
  /** The value, created by `create` on first use. */
  getOrCreate(create: () => T): T;
}

const store = globalThis as unknown as Record<symbol, unknown>;

export function processSlot<T>(name: string): ProcessSlot<T> {
  const key = Symbol.for(`flagpost.${name}`);
  return {
    get: () => store[key] as T | undefined,
    set: (value) => {
      store[key] = value;
    },
    getOrCreate: (create) => {
      let value = store[key] as T | undefined;
      if (value === undefined) store[key] = value = create();
      return value;
    },
  };
}
