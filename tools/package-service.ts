// Builds a service's production bundle into dist/services/<service>/, the folder its container image holds:
// - main.js: the service's code and the workspace libs it uses, one ES module (esbuild); npm packages stay imports;
// - node_modules/: exactly the files of the npm packages main.js loads at run time, traced (@vercel/nft), so an
//   image carries its own service's dependencies and no other's, with the versions of the lockfile;
// - its assets (the gRPC .proto files, the built web map), beside main.js where the code looks for them;
// - package.json: `type: module`, so Node loads main.js as the ES module it is.
// `node main.js` in that folder runs the service anywhere Node 20 runs, with nothing installed: the Dockerfiles
// copy the folder and nothing else, and test/deploy starts it the same way, outside the workspace.
//
// Usage: node --import tsx tools/package-service.ts <service>   (nx run <service>:package does this)

import { cpSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { nodeFileTrace } from '@vercel/nft';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ServiceBundle {
  readonly app: string;
  /** Folders copied beside main.js: [from, relative to the workspace; to, relative to the bundle]. */
  readonly assets?: readonly (readonly [string, string])[];
}

export const SERVICE_BUNDLES: Readonly<Record<string, ServiceBundle>> = Object.freeze({
  receiver: { app: 'apps/receiver' },
  collector: { app: 'apps/collector' },
  composer: { app: 'apps/composer' },
  broadcaster: {
    app: 'apps/broadcaster',
    assets: [
      // libs/grpc-api looks for ./proto beside the module that holds it: main.js, once bundled.
      ['libs/grpc-api/proto', 'proto'],
      // Served at / when TF_BROADCASTER_WEB_DIR points here (the Dockerfile sets it).
      ['apps/web/dist', 'web'],
    ],
  },
  'device-gateway': { app: 'apps/device-gateway' },
  simulator: { app: 'apps/simulator' },
});

/** Workspace packages are bundled from source; every other bare import stays an import of node_modules. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@transit-fusion/') ? undefined : { path: args.path, external: true },
    );
  },
};

export async function packageService(service: string): Promise<string> {
  const spec = SERVICE_BUNDLES[service];
  if (!spec) throw new Error(`unknown service ${service}; one of ${Object.keys(SERVICE_BUNDLES).join(', ')}`);
  const out = path.join(root, 'dist/services', service);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const main = path.join(out, 'main.js');
  await build({
    absWorkingDir: root,
    entryPoints: [path.join(spec.app, 'src/main.ts')],
    outfile: main,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@transit-fusion/source'],
    sourcemap: 'linked',
    plugins: [externalNpmPackages],
    logLevel: 'warning',
  });
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
  writeFileSync(
    path.join(out, 'package.json'),
    `${JSON.stringify({ name: `transit-fusion-${service}`, version, private: true, type: 'module' }, null, 2)}\n`,
  );
  for (const [from, to] of spec.assets ?? []) {
    const source = path.join(root, from);
    if (!statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`${service}: asset folder ${from} is missing (is it built?)`);
    }
    cpSync(source, path.join(out, to), { recursive: true });
  }

  // Every file main.js can load, found by following its imports through node_modules (native addons too).
  const { fileList } = await nodeFileTrace([main], { base: root });
  let files = 0;
  for (const file of [...fileList].sort()) {
    if (!file.startsWith('node_modules/')) continue;
    const target = path.join(out, file);
    mkdirSync(path.dirname(target), { recursive: true });
    // Real files, not the workspace's symlinks: the bundle must stand alone.
    cpSync(realpathSync(path.join(root, file)), target, { dereference: true, recursive: true });
    files += 1;
  }
  process.stdout.write(
    `${service}: ${path.relative(root, out)} (main.js + ${files} files from node_modules)\n`,
  );
  return out;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const service = process.argv[2];
  if (!service) {
    process.stderr.write('usage: package-service <service>\n');
    process.exit(2);
  }
  await packageService(service);
}
