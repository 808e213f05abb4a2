// Covers bin/web-assets.ts: which files of web/ become servable, and what happens without web/.
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assetResponse } from '../../../actors/gateway/static-assets.js';
import { isTroupeError } from '../../../transport/errors.js';
import { loadWebAssets } from '../../../bin/web-assets.js';

describe('web assets loader', function () {
  let root: string;

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'troupe-web-assets-'));
  });
  afterEach(async function () {
    await rm(root, { recursive: true, force: true });
  });

  it('finds the repository web/ from its own location', async function () {
    const { dir, assets } = await loadWebAssets();
    expect(dir).to.match(/[/\\]web[/\\]$/);
    expect([...assets.keys()]).to.include.members(['index.html', 'app.js', 'style.css']);
  });

  it('takes only files of known text types directly in the folder, with their content types', async function () {
    const web = join(root, 'web');
    await mkdir(join(web, 'nested'), { recursive: true });
    await writeFile(join(web, 'index.html'), '<!doctype html><p>hi</p>');
    await writeFile(join(web, 'app.js'), 'export {};');
    await writeFile(join(web, 'style.css'), 'p {}');
    await writeFile(join(web, 'secret.env'), 'TOKEN=1');
    await writeFile(join(web, 'nested', 'deep.js'), 'export {};');
    const { dir, assets } = await loadWebAssets([join(root, 'missing') + '/', web + '/']);
    expect(dir).to.equal(web + '/');
    expect([...assets.keys()].sort()).to.deep.equal(['app.js', 'index.html', 'style.css']);
    expect(assets.get('index.html')).to.deep.equal({ contentType: 'text/html; charset=utf-8', body: '<!doctype html><p>hi</p>' });
    expect(assets.get('app.js')?.contentType).to.equal('text/javascript; charset=utf-8');
    expect(assets.get('style.css')?.contentType).to.equal('text/css; charset=utf-8');
  });

  it('gives an empty map when no candidate folder holds an index.html', async function () {
    await writeFile(join(root, 'app.js'), 'export {};');
    const { dir, assets } = await loadWebAssets([root + '/']);
    expect(dir).to.equal(null);
    expect(assets.size).to.equal(0);
  });

  it('answers a name outside the map with not_found', function () {
    const assets = new Map([['app.js', { contentType: 'text/javascript; charset=utf-8', body: 'export {};' }]]);
    expect(assetResponse(assets, 'app.js')).to.include({ status: 200, body: 'export {};' });
    let caught: unknown;
    try {
      assetResponse(assets, '../package.json');
    } catch (err) {
      caught = err;
    }
    expect(isTroupeError(caught, 'not_found')).to.equal(true);
  });
});
