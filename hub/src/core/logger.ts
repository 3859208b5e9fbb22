import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where log lines go; standard output unless a test captures them. */
  destination?: NodeJS.WritableStream;
}

/**
 * One JSON line per event. Secrets never reach the log: the paths below are redacted wherever a
 * part logs a request or a config object.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'hearth' },
      redact: {
        paths: [
          'password',
          '*.password',
          'req.headers.authorization',
          'refreshToken',
          '*.refreshToken',
          'accessToken',
          '*.accessToken',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? process.stdout,
  );
}
