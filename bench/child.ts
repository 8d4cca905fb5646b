/** What the multi-process benchmarks share: their `--key=value` arguments and a child's first answer. */
import type { ChildProcess } from 'node:child_process';

/** `--key=value` arguments (a bare `--flag` is `'true'`). */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  return new Map(
    argv.map((a) => {
      const arg = a.replace(/^--/, '');
      const at = arg.indexOf('=');
      return (at < 0 ? [arg, 'true'] : [arg.slice(0, at), arg.slice(at + 1)]) as [string, string];
    }),
  );
}

/** The first IPC message of a forked child; rejects if it fails or exits first. */
export function firstAnswer<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before answering`)));
  });
}

/** In a child: the first message its parent sends. */
export function messageFromParent<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
}
