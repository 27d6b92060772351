/**
 * Errors that domain services throw for bad input or missing access. They carry a code the
 * transports map to (tRPC error code / HTTP status) and, for form input, the field to blame.
 * Services never throw transport errors themselves.
 */
export type DomainErrorCode = "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "FORBIDDEN" | "UNAUTHORIZED" | "PRECONDITION_FAILED" | "TOO_MANY_REQUESTS";

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly field?: string;
  /** When to try again (TOO_MANY_REQUESTS): the transports send it as `Retry-After`. */
  readonly retryAfterSeconds?: number;

  constructor(code: DomainErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = "DomainError";
    this.code = code;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const notFound = (what: string) => new DomainError("NOT_FOUND", `${what} not found`);
export const badInput = (message: string, field?: string) => new DomainError("BAD_REQUEST", message, { field });
export const conflict = (message: string, field?: string) => new DomainError("CONFLICT", message, { field });

/** Refuses an update that names no field to change (an update with nothing to set fails in the database). */
export function requireSomeChange(changes: object): void {
  if (!Object.values(changes).some((value) => value !== undefined)) throw badInput("Nothing to change");
}

/** PostgreSQL unique violation on `constraint` (or any, when omitted). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = findPgError(error);
  return pgError?.code === "23505" && (constraint === undefined || pgError.constraint === constraint);
}

/** PostgreSQL foreign-key violation (the referenced row is gone). */
export function isForeignKeyViolation(error: unknown): boolean {
  return findPgError(error)?.code === "23503";
}

/**
 * An error and the errors of its `cause` chain (as drizzle and pg wrap them), outermost first, as
 * objects with the fields the walkers read; at most `depth` of them (a cycle cannot loop).
 */
export function* causeChain(error: unknown, depth = 6): Generator<{ code?: unknown; message?: unknown; constraint?: unknown } & object> {
  let current: unknown = error;
  for (let i = 0; i < depth && current; i++) {
    if (typeof current !== "object" || current === null) return;
    yield current as { code?: unknown; message?: unknown; constraint?: unknown };
    current = (current as { cause?: unknown }).cause;
  }
}

/** The PostgreSQL error (SQLSTATE `code`) in an error or its `cause` chain, as drizzle and pg wrap it. */
export function findPgError(error: unknown): { code?: string; constraint?: string } | undefined {
  for (const candidate of causeChain(error, 5)) {
    if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate as { code: string; constraint?: string };
  }
  return undefined;
}
