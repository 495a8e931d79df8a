/**
 * `fos migrate`: copies a server's accounts and metadata from SQLite to PostgreSQL.
 * Parses flags, calls store/migrate-store.ts, prints the counts.
 */
import type { Command } from 'commander';
import { FosError } from '../errors.js';
import { migrateStore } from '../store/migrate-store.js';
import type { MigrationReport } from '../store/migrate-store.js';
import type { StoreSpec } from '../store/open.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  fos migrate --from /var/lib/fos --to postgres://fos@db.internal:5432/fos
  fos migrate --from sqlite:/var/lib/fos/fos.db --to postgres://fos@127.0.0.1:5432/fos --json
  fos migrate --from /var/lib/fos --to postgres://fos@127.0.0.1:5432/fos --force

Stop every fos server that uses either store first. Files stay where they are: point the
new nodes' --data at the same folder (or a shared copy of it).
`;

type Flags = Record<string, string | boolean | undefined>;

/** Adds `fos migrate` to the program. */
export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description("copy a server's accounts and metadata from SQLite to PostgreSQL")
    .requiredOption('--from <store>', 'the source: a data folder or sqlite:PATH')
    .requiredOption('--to <url>', 'the target: postgres://USER@HOST:PORT/DB')
    .option('--force', 'replace what the target already holds')
    .option('--json', 'print JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      const flags = command.opts<Flags>();
      const from = text(flags['from'], '--from');
      const to = text(flags['to'], '--to');
      const spec: StoreSpec = from.startsWith('sqlite:') || /^[a-z]+:\/\//iu.test(from) ? { store: from } : { dataDir: from };
      const report = await migrateStore(spec, to, { force: flags['force'] === true });
      io.stdout.write(flags['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}

function formatReport(report: MigrationReport): string {
  const c = report.counts;
  return [
    `copied ${report.from} to ${report.to}`,
    `  users    ${c.users}`,
    `  tokens   ${c.tokens}`,
    `  revs     ${c.revs}`,
    `  entries  ${c.entries}`,
    `  trash    ${c.trash}`,
    `  held deletion batches ${c.deletionBatches} (${c.deletionItems} items)`,
    '',
  ].join('\n');
}

function text(value: string | boolean | undefined, flag: string): string {
  if (typeof value !== 'string' || value === '') throw new FosError('FOS_ERR_CLI_USAGE', `${flag} needs a value`);
  return value;
}
