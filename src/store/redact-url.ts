/**
 * Store URLs as they may appear in messages and logs: never with a password.
 */

/** Hides the password from a connection string shown in messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL at all: show nothing of it rather than a secret.
    return 'postgres://…';
  }
}
