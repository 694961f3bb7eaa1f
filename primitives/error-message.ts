/**
 * The message of a thrown value, for error messages that name the cause: `error.message` for
 * an Error, its string form for anything else (a rejected promise may carry any value).
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
