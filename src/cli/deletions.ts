/**
 * `fos deletions list|approve|reject`: the deletions safety guards held back on the server
 * (issue 11), and a person's decision on them.
 */
import type { Command } from 'commander';
import type { ListedBatch } from '../client/index.js';
import { parseBatchId } from '../protocol/deletion-batch.js';
import { BATCH_STATES } from '../protocol/types.js';
import type { DeletionBatch } from '../protocol/types.js';
import { addConnectOptions, addOutputOptions, addProgramExample, printJson, withSession } from './connect-options.js';
import type { ConnectFlags } from './connect-options.js';
import { formatBytes, formatTime } from './format.js';
import type { CliIo } from './main.js';

const EXAMPLES = `
Examples:
  $ fos deletions list                 batches waiting for a decision
  $ fos deletions list --all --json    every batch, decided ones too, as JSON
  $ fos deletions approve k3f9q2xm     the deletions go ahead (the server keeps the files in its trash)
  $ fos deletions reject k3f9q2xm      the files come back where they were lost`;

interface ListFlags extends ConnectFlags {
  readonly all?: boolean;
}

/** A batch as `--json` prints it (docs/cli.md). */
export interface BatchJson {
  readonly id: string;
  readonly device: string;
  readonly folder: string;
  readonly side: DeletionBatch['side'];
  readonly state: DeletionBatch['state'];
  readonly count: number;
  readonly bytes: number;
  readonly createdAt: number;
  readonly created: string;
  readonly resolvedAt: number | null;
  readonly commitRev: number | null;
  readonly successor: string | null;
  /** The first few paths, in path order. */
  readonly samples: readonly string[];
}

/** The JSON shape of a batch. */
export function batchJson(batch: DeletionBatch, samples: readonly string[]): BatchJson {
  return {
    id: batch.id,
    device: batch.device,
    folder: batch.folder,
    side: batch.side,
    state: batch.state,
    count: batch.count,
    bytes: batch.bytes,
    createdAt: batch.createdAt,
    created: new Date(batch.createdAt).toISOString(),
    resolvedAt: batch.resolvedAt,
    commitRev: batch.commitRev,
    successor: batch.successor,
    samples,
  };
}

/** Registers `fos deletions`. */
export function registerDeletionsCommand(program: Command, io: CliIo): void {
  addProgramExample(program, 'fos deletions list');
  const deletions = program
    .command('deletions')
    .description('deletions a safety guard held back: list them, approve or reject a batch')
    .addHelpText('after', EXAMPLES);

  const list = deletions
    .command('list')
    .description('batches of held deletions (waiting ones; --all for decided ones too)')
    .option('--all', 'also approved, rejected, superseded and withdrawn batches')
    .addHelpText('after', EXAMPLES);
  addConnectOptions(list);
  addOutputOptions(list);
  list.action(async (flags: ListFlags) => {
    const batches = await withSession(flags, io, (session) =>
      session.run((client) => client.held({ states: flags.all === true ? BATCH_STATES : ['held'] }, { signal: session.signal })),
    );
    if (flags.json === true) {
      printJson(io, batches.map((b) => batchJson(b.batch, b.samples)));
      return;
    }
    if (batches.length === 0) {
      if (flags.quiet !== true) io.stdout.write(flags.all === true ? 'no held deletions\n' : 'no deletions waiting for a decision\n');
      return;
    }
    io.stdout.write(batches.map(describeBatch).join(''));
  });

  for (const verdict of ['approve', 'reject'] as const) {
    const command = deletions
      .command(verdict)
      .description(verdict === 'approve' ? 'let a batch of held deletions go ahead' : 'bring back the files of a batch of held deletions')
      .argument('<id>', 'batch id, as `fos deletions list` shows it')
      .addHelpText('after', EXAMPLES);
    addConnectOptions(command);
    addOutputOptions(command);
    command.action(async (text: string, flags: ConnectFlags) => {
      const id = parseBatchId(text);
      const decision = await withSession(flags, io, (session) =>
        session.run((client) => (verdict === 'approve' ? client.approveBatch(id, { signal: session.signal }) : client.rejectBatch(id, { signal: session.signal }))),
      );
      if (flags.json === true) printJson(io, { batch: batchJson(decision.batch, []), done: decision.done, kept: decision.kept });
      else if (flags.quiet !== true) io.stdout.write(`${describeDecision(decision.batch, decision.done, decision.kept)}\n`);
    });
  }
}

/** A batch for people: one heading line, a few sample paths. */
function describeBatch({ batch, samples }: ListedBatch): string {
  const where = batch.side === 'remote' ? `deleted on ${batch.device}, kept on the server` : `deleted on the server, kept on ${batch.device}`;
  const decided = batch.resolvedAt === null ? '' : `, ${batch.state} ${formatTime(batch.resolvedAt)}`;
  const successor = batch.successor === null ? '' : ` (now ${batch.successor})`;
  const lines = [
    `${batch.id}  ${batch.state}${successor}  ${batch.count} deletions (${formatBytes(batch.bytes)}) in /${batch.folder}: ${where}; held ${formatTime(batch.createdAt)}${decided}`,
    ...samples.map((path) => `  ${path}`),
  ];
  if (batch.count > samples.length) lines.push(`  … and ${batch.count - samples.length} more`);
  return `${lines.join('\n')}\n`;
}

/** What a decision did, in words. */
function describeDecision(batch: DeletionBatch, done: number, kept: number): string {
  const changed = kept === 0 ? '' : `; ${kept} left as they are (changed since they were held${batch.side === 'local' && batch.state === 'rejected' ? ', or no longer in the trash' : ''})`;
  if (batch.state === 'approved') {
    return batch.side === 'remote'
      ? `approved ${batch.id}: ${done} deleted on the server (kept in its trash)${changed}`
      : `approved ${batch.id}: ${batch.device} deletes ${done} files on its next pass (into its local trash)`;
  }
  return batch.side === 'remote'
    ? `rejected ${batch.id}: ${done} stay on the server and come back to ${batch.device} on its next pass${changed}`
    : `rejected ${batch.id}: ${done} restored on the server from its trash; every device gets them back${changed}`;
}
