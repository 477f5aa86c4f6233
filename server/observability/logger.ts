import pino, { type Logger } from 'pino';

/** Structured JSON logs. Anything that can hold a secret is redacted wherever it appears. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'trellis-server' },
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          'secret',
          '*.secret',
          'linkSecret',
          '*.linkSecret',
          '*.*.linkSecret',
          'key',
          'credential',
          '*.credential',
          'policy',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
