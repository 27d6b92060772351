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
