// A Vite plugin that builds /docs: Swagger UI from the pinned swagger-ui-dist package, with the
// page, initializer and styles from docs/, written to dist/docs/ next to the web app. The files
// are copied as they are (swagger-ui-dist ships them built), so nothing of Swagger UI is
// bundled into the app. `npm run dev` serves the same files under /docs/.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** dist/docs/<name> → where it comes from. */
const FILES = {
  'index.html': path.join(root, 'docs/index.html'),
  'init.js': path.join(root, 'docs/init.js'),
  'docs.css': path.join(root, 'docs/docs.css'),
  'swagger-ui.css': path.join(swaggerDir, 'swagger-ui.css'),
  'swagger-ui-bundle.js': path.join(swaggerDir, 'swagger-ui-bundle.js'),
  'swagger-ui-standalone-preset.js': path.join(swaggerDir, 'swagger-ui-standalone-preset.js'),
};

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** @returns {import('vite').Plugin} */
export function swaggerDocs() {
  return {
    name: 'docket-swagger-docs',
    async generateBundle() {
      for (const [name, from] of Object.entries(FILES)) {
        this.emitFile({ type: 'asset', fileName: `docs/${name}`, source: await readFile(from) });
      }
    },
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://dev');
        const name = url.pathname === '/docs' || url.pathname === '/docs/' ? 'index.html' : url.pathname.replace(/^\/docs\//, '');
        const from = url.pathname.startsWith('/docs') ? FILES[/** @type {keyof typeof FILES} */ (name)] : undefined;
        if (!from) return next();
        res.setHeader('Content-Type', TYPES[/** @type {keyof typeof TYPES} */ (path.extname(name))] ?? 'application/octet-stream');
        res.end(await readFile(from));
      });
    },
  };
}
