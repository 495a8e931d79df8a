/**
 * The list of commands: each command lives in its own file and registers itself here.
 * Keep one line per command file.
 */
import type { Command } from 'commander';
import type { CliIo } from './main.js';
import { registerServiceCommand } from './service.js';
import { registerServerCommand } from './server.js';
import { registerUserCommand } from './user.js';

/** Adds every fos command to the program. */
export function registerCommands(program: Command, io: CliIo): void {
  void program;
  void io;
  registerServiceCommand(program, io);
  registerServerCommand(program, io);
  registerUserCommand(program, io);
}
