import { Command } from 'commander';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { registerCommands } from './commands.js';
import type { CliIo } from './main.js';

const io: CliIo = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {} };

async function namesFor(args?: readonly string[]): Promise<string[]> {
  const program = new Command('fos');
  await registerCommands(program, io, args);
  return program.commands.map((c) => c.name());
}

// Issue 8: `fos sync` loads its own command only, not the server and the stores.
describe('registerCommands loads only what the command line needs', () => {
  it('registers just the named command', async () => {
    expect(await namesFor(['sync', '--json'])).toEqual(['sync']);
    expect(await namesFor(['--verbose', 'status'])).toEqual(['status']);
  });

  it('registers nothing for --version', async () => {
    expect(await namesFor(['--version'])).toEqual([]);
  });

  it('registers every command for help, a typo or no arguments', async () => {
    const all = await namesFor();
    expect(all).toContain('server');
    expect(all).toContain('sync');
    expect(await namesFor(['--help'])).toEqual(all);
    expect(await namesFor(['synk'])).toEqual(all);
    expect(await namesFor([])).toEqual(all);
  });
});
