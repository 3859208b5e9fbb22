import { errorWords } from '@hearth/model/errors';

/** An API failure: the hub's stable code plus what to tell a person. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function plainMessage(err: unknown): string {
  // The words for each code are in the shared model (keyed by the code type: none is forgotten);
  // a code without words, or one this UI does not know yet, shows the hub's own message.
  if (err instanceof ApiError) return errorWords(err.code) ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
