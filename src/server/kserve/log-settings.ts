import { badRequest } from '../http-errors.js';

/**
 * Triton's logging extension (`GET|POST /v2/logging`, gRPC LogSettings) over the server's pino logger.
 * Triton has switches per severity plus a verbose level; pino has one threshold. Reading maps the
 * threshold to the switches; writing sets the threshold to the most verbose severity left on
 * (`log_verbose_level` 1 = debug, 2+ = trace; all off = silent). The change is real: the next log line
 * is filtered with it. Logs are pino JSON lines on stdout, so `log_file` and `log_format` other than
 * their current values are refused.
 */

export interface LogSettings {
  log_file: string;
  log_info: boolean;
  log_warning: boolean;
  log_error: boolean;
  log_verbose_level: number;
  log_format: string;
}

/** The part of a pino logger this needs. */
export interface LevelledLogger {
  level: string;
}

const RANK: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export function readLogSettings(log: LevelledLogger): LogSettings {
  const rank = RANK[log.level] ?? RANK['info']!;
  return {
    log_file: '',
    log_info: rank <= RANK['info']!,
    log_warning: rank <= RANK['warn']!,
    log_error: rank <= RANK['error']!,
    log_verbose_level: rank <= RANK['trace']! ? 2 : rank <= RANK['debug']! ? 1 : 0,
    log_format: 'default',
  };
}

const KEYS = ['log_file', 'log_info', 'log_warning', 'log_error', 'log_verbose_level', 'log_format'];

/** Applies a settings update (any subset of the keys) and returns the settings now in effect. */
export function updateLogSettings(log: LevelledLogger, update: Record<string, unknown>): LogSettings {
  const next = readLogSettings(log);
  for (const [key, value] of Object.entries(update)) {
    if (!KEYS.includes(key)) {
      throw badRequest(
        `Expected logging settings among ${KEYS.join(', ')} but received '${key.slice(0, 64)}'`,
      );
    }
    if (key === 'log_file') {
      if (value !== '') {
        throw badRequest(
          `log_file is not supported: logs are written to stdout (received '${String(value).slice(0, 100)}')`,
        );
      }
    } else if (key === 'log_format') {
      if (value !== 'default') {
        throw badRequest(
          `log_format '${String(value).slice(0, 32)}' is not supported: logs are pino JSON lines ('default')`,
        );
      }
    } else if (key === 'log_verbose_level') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw badRequest(
          `Expected a non-negative integer for log_verbose_level but received ${String(value)}`,
        );
      }
      next.log_verbose_level = value;
    } else {
      if (typeof value !== 'boolean')
        throw badRequest(`Expected a boolean for ${key} but received ${String(value)}`);
      (next as unknown as Record<string, boolean>)[key] = value;
      // Switching a severity off also ends verbose logging unless the update sets a verbose level.
      if (!value && update['log_verbose_level'] === undefined) next.log_verbose_level = 0;
    }
  }
  log.level =
    next.log_verbose_level >= 2
      ? 'trace'
      : next.log_verbose_level === 1
        ? 'debug'
        : next.log_info
          ? 'info'
          : next.log_warning
            ? 'warn'
            : next.log_error
              ? 'error'
              : 'silent';
  return readLogSettings(log);
}
