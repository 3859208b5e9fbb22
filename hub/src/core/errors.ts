import { ERROR_STATUS, type ErrorCode } from '@hearth/model/errors';

// The codes and their HTTP statuses are listed once, in packages/model/src/errors.ts (shared with
// the UI, which words them for people): add a new code there, import them from @hearth/model/errors.

/**
 * Every failure that crosses a boundary (HTTP, MQTT, command line) is a HubError with a stable
 * code. Tests and clients match on `code`, never on the message text.
 */
export class HubError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isHubError(err: unknown, code?: ErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}
