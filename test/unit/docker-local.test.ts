/**
 * docker/local.Dockerfile cannot be built here (no Docker engine), so its invariants are read off
 * the file: Node.js 24 everywhere, a non-root user, the state volume the command writes into, a
 * health check on the port `start --health-port` serves, and build inputs that exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const text = readFileSync(new URL('docker/local.Dockerfile', `file://${ROOT}`), 'utf8');

/** The instructions, with continuation lines joined and comments dropped. */
const instructions = text
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
const all = (keyword: string) => instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const finalStage = instructions.slice(instructions.findLastIndex((i) => i.keyword === 'FROM'));
const final = (keyword: string) => finalStage.filter((i) => i.keyword === keyword).map((i) => i.args);
const json = (args: string | undefined) => JSON.parse(args ?? '[]') as string[];

describe('docker/local.Dockerfile', () => {
  it('builds and runs on Node.js 24 in every stage', () => {
    const bases = all('FROM');
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/\/node:24[-\w.]*(\s+AS\s+\w+)?$/i);
  });

  it('runs as a non-root user', () => {
    const users = final('USER');
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('keeps the state, the working directory and the credentials home in the volume', () => {
    expect(final('VOLUME').flatMap(json)).toEqual(['/state']);
    // Every command's default state path (.ml-connector/state.db) is relative: inside the volume.
    expect(final('WORKDIR').at(-1)).toBe('/state');
    expect(json(final('CMD').at(-1))).not.toContain('--state');
    expect(final('ENV').join(' ')).toMatch(/XDG_CONFIG_HOME=\/state\//);
  });

  it('checks health on the port start serves /health on', () => {
    const command = json(final('CMD').at(-1));
    expect(command[0]).toBe('start');
    const port = command[command.indexOf('--health-port') + 1];
    expect(port).toMatch(/^\d+$/);
    expect(command[command.indexOf('--health-host') + 1]).toBe('0.0.0.0');
    const check = final('HEALTHCHECK').at(-1) ?? '';
    expect(check).toContain(`http://127.0.0.1:${port}/health`);
  });

  it('runs the command the installed package puts on the PATH', () => {
    expect(json(final('ENTRYPOINT').at(-1))).toEqual(['ml-connector']);
    expect(final('RUN').join(' ')).toMatch(/npm install --global --omit=dev .*ml-connector-\*\.tgz/);
  });

  it('copies only inputs that exist and that the build context lets through', () => {
    const ignore = readFileSync(new URL('docker/local.Dockerfile.dockerignore', `file://${ROOT}`), 'utf8');
    const allowed = ignore
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = all('COPY')
      .filter((args) => !args.startsWith('--from'))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(`${ROOT}${source}`), source).toBe(true);
      expect(allowed, source).toContain(source);
    }
  });
});
