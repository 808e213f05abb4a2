// Covers the bundled browser client as the embedded server serves it: GET / and GET /web/<file>
// from the in-memory copy of web/, with their headers, and the protocol's JSON 404 for anything
// else (traversal included). The page's behaviour is checked in Chromium by spec/browser/.
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { api, type Api } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** A GET whose path is sent byte for byte (fetch would resolve `..` before sending). */
function rawGet(port: number, path: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('protocol: the bundled web client', function () {
  let server: TestServer;
  let http: Api;

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  it('answers GET / with the page, which loads the app as a module', async function () {
    const res = await http('GET', '/');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html; charset=utf-8$/);
    expect(res.text).to.match(/<script type="module" src="\/web\/app\.js"><\/script>/);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
  });

  it('answers GET /web/app.js with JavaScript', async function () {
    const res = await http('GET', '/web/app.js');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/javascript\b/);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.text).to.match(/^import .* from '\.\/[a-z-]+\.js';$/m);
  });

  /** Every file the page links and every module the app imports, by path, as served. */
  async function servedClient(): Promise<Map<string, string>> {
    const page = (await http('GET', '/')).text;
    const linked = [...page.matchAll(/(?:src|href)="(\/web\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(linked).to.include.members(['/web/app.js', '/web/style.css']);
    const served = new Map<string, string>();
    const queue = [...linked];
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (served.has(path)) continue;
      const res = await http('GET', path);
      expect(res.status, path).to.equal(200);
      const type = path.endsWith('.css') ? /^text\/css\b/ : /^text\/javascript\b/;
      expect(res.headers.get('content-type'), path).to.match(type);
      served.set(path, res.text);
      for (const m of res.text.matchAll(/^import [^;]*? from '\.\/([^']+)';$/gm)) queue.push(`/web/${m[1]}`);
    }
    return served;
  }

  it('serves every file the page links and every module the app imports', async function () {
    const served = await servedClient();
    expect([...served.keys()].filter((path) => path.endsWith('.js')).length, 'app.js and the modules it imports').to.be.greaterThan(1);
  });

  it('never hands text to an HTML parser in its scripts', async function () {
    for (const [path, text] of await servedClient()) {
      if (path.endsWith('.js')) expect(text, path).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
  });

  it('answers a path outside web/ with a JSON 404, whether written with .. or encoded', async function () {
    for (const path of ['/web/../package.json', '/web/%2e%2e%2fpackage.json', '/web/..%2Fpackage.json', '/package.json', '/web/']) {
      const res = await rawGet(server.port, path);
      expect(res.status, path).to.equal(404);
      expect(res.contentType, path).to.match(/^application\/json/);
      expect(JSON.parse(res.body), path).to.have.nested.property('error.code', 'not_found');
      expect(res.body, path).not.to.include('"troupe"');
    }
  });

  it('answers an unknown file under /web/ with a JSON 404', async function () {
    const res = await http('GET', '/web/nope.js');
    expect(res.status).to.equal(404);
    expect(res.body).to.have.nested.property('error.code', 'not_found');
  });

  it('serves the page to GET only and leaves the API routes as they were', async function () {
    expect((await http('POST', '/', {})).status).to.equal(404);
    expect((await http('GET', '/healthz')).body).to.deep.equal({ status: 'ok' });
    const me = await http('GET', '/v1/me');
    expect(me.status).to.equal(401);
    expect(me.body).to.have.nested.property('error.code', 'unauthenticated');
  });
});
