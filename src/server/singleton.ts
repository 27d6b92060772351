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

const store = globalThis as unknown as Record<symbol, { value: unknown } | undefined>;

export function processSlot<T>(name: string): ProcessSlot<T> {
  const key = Symbol.for(`flagpost.${name}`);
  // One holder object per name on globalThis, shared by every copy of the module; reads go through
  // it (a plain property) rather than a symbol-keyed property of the global object, which V8 keeps
  // in dictionary mode: this is on every SDK and flagd request (docs/performance.md).
  const holder = (store[key] ??= { value: undefined });
  return {
    get: () => holder.value as T | undefined,
    set: (value) => {
      holder.value = value;
    },
    getOrCreate: (create) => {
      let value = holder.value as T | undefined;
      if (value === undefined) holder.value = value = create();
      return value;
    },
  };
}
