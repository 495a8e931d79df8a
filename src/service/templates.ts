/**
 * Finds this installation of fos and reads its service templates (systemd/, launchd/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FosError } from '../errors.js';
import { templateFile } from './render.js';
import type { ServiceKind, ServicePlatform } from './render.js';

/**
 * The folder holding fos's package.json: the same from src/ under vitest and from
 * dist/src/ once built, because it is found by walking up, not by a fixed depth.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when no fos package.json is above `from`.
 */
export function findPackageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isFosManifest(readFileSync(manifest, 'utf8'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new FosError('FOS_ERR_CONFIG_MISSING', `cannot find the fos package above ${from}`);
    dir = parent;
  }
}

/** The absolute path of the `fos` entry point (`bin/fos.js`) of this installation. */
export function fosEntryPoint(root: string = findPackageRoot()): string {
  return join(root, 'bin', 'fos.js');
}

/**
 * Reads the template for one kind of service on one platform.
 * @throws FosError `FOS_ERR_CONFIG_MISSING` when the template is not installed.
 */
export async function readTemplate(kind: ServiceKind, platform: ServicePlatform, root: string = findPackageRoot()): Promise<string> {
  const file = join(root, templateFile(kind, platform));
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new FosError('FOS_ERR_CONFIG_MISSING', `cannot read the service template ${file}`, { cause: err });
  }
}

function isFosManifest(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'fos';
  } catch {
    // A package.json that does not parse is not ours; keep walking up.
    return false;
  }
}
