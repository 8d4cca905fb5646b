/**
 * The local shape's logger: one JSON object per line on a stream (stderr by default), with
 * secret-looking fields redacted. Levels below `level` are dropped.
 */
import { type Logger, redact } from '#base/logger.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ConsoleLoggerOptions {
  readonly level?: LogLevel;
  readonly stream?: NodeJS.WritableStream;
  /** Fields added to every line, e.g. { component: 'sandbox' }. */
  readonly base?: Record<string, unknown>;
  readonly now?: () => number;
}

export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    const line = {
      time: new Date(now()).toISOString(),
      level,
      message,
      ...options.base,
      ...(fields ? (redact(fields) as Record<string, unknown>) : {}),
    };
    stream.write(`${JSON.stringify(line, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
