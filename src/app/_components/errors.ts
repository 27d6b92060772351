/** Field errors and a message from a tRPC error, for showing next to form fields. */
export interface FormError {
  message: string;
  fieldErrors: Record<string, string>;
}

export function formError(error: unknown): FormError | null {
  if (!error) return null;
  const data = (error as { data?: { fieldErrors?: Record<string, string> } }).data;
  const message = (error as { message?: string }).message ?? "Something went wrong";
  return { message, fieldErrors: data?.fieldErrors ?? {} };
}

/**
 * The server's message for a field, or for anything nested under it (`options` matches
 * `options.1.value`). `paths` are tried in order.
 */
export function fieldError(error: FormError | null | undefined, ...paths: string[]): string | undefined {
  if (!error) return undefined;
  for (const path of paths) {
    if (error.fieldErrors[path]) return error.fieldErrors[path];
    const nested = Object.entries(error.fieldErrors).find(([key]) => key.startsWith(`${path}.`));
    if (nested) return nested[1];
  }
  return undefined;
}

/**
 * The error's message when none of `shownPaths` displays it next to a field (so a form shows it
 * once, at the top), else undefined.
 */
export function unplacedError(error: FormError | null | undefined, ...shownPaths: string[]): string | undefined {
  if (!error) return undefined;
  const keys = Object.keys(error.fieldErrors);
  const placed = keys.some((key) => shownPaths.some((path) => key === path || key.startsWith(`${path}.`)));
  return placed ? undefined : error.message;
}
