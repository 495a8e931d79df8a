/**
 * The list of commands: each command lives in its own file and registers itself here.
 * Keep one line per command file.
 */
import type { Command } from 'commander';
import type { CliIo } from './main.js';
import { registerServiceCommand } from './service.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServerCommand } from './server.js';
import { registerUserCommand } from './user.js';
import { registerLoginCommand } from './login.js';
import { registerLogoutCommand } from './logout.js';
import { registerListCommand } from './list.js';
import { registerUploadCommand } from './upload.js';
import { registerDownloadCommand } from './download.js';
import { registerPreviewCommand } from './preview.js';
import { registerDeleteCommand } from './delete.js';
import { registerMoveCommand } from './move.js';
import { registerRestoreCommand } from './restore.js';
import { registerShellCommand } from './shell.js';
import { registerInitCommand } from './init.js';
import { registerSyncCommand } from './sync.js';
import { registerAgentCommand } from './agent.js';
import { registerStatusCommand } from './status.js';
import { registerDeletionsCommand } from './deletions.js';

/** Adds every fos command to the program. */
export function registerCommands(program: Command, io: CliIo): void {
  void program;
  void io;
  registerServiceCommand(program, io);
  registerServerCommand(program, io);
  registerUserCommand(program, io);
  registerLoginCommand(program, io);
  registerLogoutCommand(program, io);
  registerListCommand(program, io);
  registerUploadCommand(program, io);
  registerDownloadCommand(program, io);
  registerPreviewCommand(program, io);
  registerDeleteCommand(program, io);
  registerMoveCommand(program, io);
  registerRestoreCommand(program, io);
  registerShellCommand(program, io);
  registerInitCommand(program, io);
  registerSyncCommand(program, io);
  registerAgentCommand(program, io);
  registerStatusCommand(program, io);
  registerDeletionsCommand(program, io);
  registerMigrateCommand(program, io);
}
