// The local cluster's role processes: a log that cannot be written must not crash the launcher.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { RoleProcess } from '../../../bin/local-cluster/role-process.js';
import { waitFor } from '../../support/wait-for.js';

describe('local-cluster: RoleProcess', function () {
  it('keeps running when its log folder disappears, and appends a restarted role\'s output to the same log', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-role-process-'));
    const scripts = await mkdtemp(join(tmpdir(), 'troupe-role-script-'));
    try {
      // A script that stands in for `troupe <role> <flags>`: it prints its flags and exits.
      const entry = join(scripts, 'role.mjs');
      await writeFile(entry, "console.log(process.argv.slice(2).join(' '));\n");
      const spec = { role: 'logic' as const, nodeId: 'n1', entry, env: {}, readyPort: 1, logDir: dir };
      const first = new RoleProcess({ ...spec, args: ['first', 'run'] });
      await waitFor(() => first.exited !== null);
      const again = new RoleProcess({ ...spec, args: ['second', 'run'] });
      await waitFor(() => again.exited !== null);
      await waitFor(async () => (await readFile(again.logFile, 'utf8')).includes('second run'));
      expect(await readFile(again.logFile, 'utf8')).to.match(/logic first run\n[\s\S]*logic second run/);

      await rm(dir, { recursive: true, force: true });
      const orphan = new RoleProcess({ ...spec, args: ['nowhere', 'to', 'go'] });
      await waitFor(() => orphan.exited !== null);
      expect(orphan.exited).to.equal('exit 0');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(scripts, { recursive: true, force: true });
    }
  });
});
