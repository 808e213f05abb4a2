/**
 * Finding a test service's programs and, on a fresh machine, installing them from Debian's
 * packages: only when running as root (CI); otherwise a one-line message says what to install.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Looks in PATH and in the sbin folders, which a non-root PATH often lacks. */
export async function which(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Installs `packages` with apt-get (refreshing the package lists only if the first try fails).
 * `what` names the service in the message given when not running as root.
 */
export async function installDebianPackages(packages: readonly string[], what: string): Promise<void> {
  const list = packages.join(' ');
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} is not installed: install the Debian package${packages.length > 1 ? 's' : ''} ${list} (apt-get install ${list}) to run these specs`);
  }
  const install = (): Promise<unknown> =>
    run('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=300', ...packages], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    await install();
  } catch {
    await run('apt-get', ['update'], { maxBuffer: 64 * 1024 * 1024 });
    await install();
  }
}

/** The paths of `programs`, installing `packages` first when any is missing. */
export async function ensurePrograms(programs: readonly string[], packages: readonly string[], what: string): Promise<string[]> {
  const find = async (): Promise<Array<string | null>> => Promise.all(programs.map(which));
  let found = await find();
  if (found.some((p) => p === null)) {
    await installDebianPackages(packages, what);
    found = await find();
  }
  const missing = programs.filter((_, i) => found[i] === null);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} not found after installing ${packages.join(' ')}`);
  return found as string[];
}
