/** Whether a stream is a terminal: kept apart from the password prompt so that commands that never prompt do not load it. */

/** True for a terminal stream. */
export function isTerminal(stream: NodeJS.ReadableStream | NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
