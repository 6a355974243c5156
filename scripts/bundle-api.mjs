// Assembles what the API image runs: the compiled service bundled into one file by esbuild, plus
// the few packages that must stay on disk. The reason is image size: production node_modules
// weigh ~200 MB, this tree ~20 MB (see the Dockerfile).
//
// It bundles the compiled dist/ (run `npm run build` first), never the TypeScript sources: nest
// build emits the decorator metadata and the swagger plugin's metadata, which esbuild cannot.
//
// The tree (default dist/image/, copied to /app in the image):
//   package.json           read at run time for the version
//   dist/bundle/main.js    two levels under the root, like dist/openapi/openapi.js, so
//                          PROJECT_ROOT (src/openapi/openapi.ts: __dirname/../..) stays the root
//   node_modules/...       ON_DISK below
//
// Usage: node scripts/bundle-api.mjs [outDir]
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, process.argv[2] ?? 'dist/image');
const AGENT_SDK = '@anthropic-ai/claude-agent-sdk';

/**
 * Packages copied as files: those listed, or the whole package when `true`.
 * @type {Record<string, string[] | true>}
 */
const ON_DISK = {
  // A native addon, which `bindings` finds relative to better-sqlite3's own files.
  'better-sqlite3': ['package.json', 'lib', 'build/Release/better_sqlite3.node'],
  bindings: true,
  'file-uri-to-path': true,
  // Static files that @nestjs/swagger serves from the package's own directory (/docs).
  'swagger-ui-dist': true,
};

/**
 * Required only on paths this service never takes (another HTTP platform, microservices,
 * websockets, views; ssh transport's optional native speed-ups), each inside a try/catch or a
 * lazy loader: left as plain require() calls that fail, as they do without the bundle.
 */
const NOT_INSTALLED = [
  '@nestjs/microservices',
  '@nestjs/platform-express',
  '@nestjs/websockets',
  '@fastify/view',
  'class-transformer/storage',
  'cpu-features',
  // pg's optional engines, required inside try blocks: the pure-JS client is the one used.
  'pg-native',
  'pg-cloudflare',
  '*.node',
];

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'dist/main.js')],
    outfile: join(OUT, 'dist/bundle/main.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    // Nest and the swagger plugin key tokens and metadata by class name. Identifiers stay as
    // written, so stack traces read as they do unbundled.
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    external: [...Object.keys(ON_DISK), AGENT_SDK, ...NOT_INSTALLED],
    logLevel: 'warning',
  });
  // The Agent SDK is ESM-only, loaded by a real import() (src/agent/import-esm.js) that
  // resolves from the bundle's directory up to node_modules. Its main entry is bundled on its own
  // so that file holds whatever it imports: today nothing but Node's modules, but a version that
  // needed its peer dependencies (@anthropic-ai/sdk, zod...) would otherwise fail only at the
  // first prompt. Its other entries are not shipped.
  const sdkDir = join(OUT, 'node_modules', AGENT_SDK);
  await build({
    entryPoints: [join(ROOT, 'node_modules', AGENT_SDK, 'sdk.mjs')],
    outfile: join(sdkDir, 'sdk.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    logLevel: 'warning',
  });
  for (const file of ['package.json', 'LICENSE.md']) {
    cpSync(join(ROOT, 'node_modules', AGENT_SDK, file), join(sdkDir, file));
  }
  for (const [name, files] of Object.entries(ON_DISK)) {
    const from = join(ROOT, 'node_modules', name);
    const to = join(OUT, 'node_modules', name);
    for (const file of files === true ? ['.'] : files) {
      if (!existsSync(join(from, file))) throw new Error(`bundle-api: missing ${name}/${file}`);
      mkdirSync(dirname(join(to, file)), { recursive: true });
      cpSync(join(from, file), join(to, file), { recursive: true });
    }
  }
  cpSync(join(ROOT, 'package.json'), join(OUT, 'package.json'));
  console.log(`bundle-api: wrote ${OUT}`);
}

await main();
