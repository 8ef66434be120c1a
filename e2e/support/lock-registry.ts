import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { runProcess } from './run-process.js';

/**
 * A local npm registry that holds exactly what our lock installs for users, so the package test
 * runs `npm install -g` as a user does, with no network. `--offline` from the npm cache is not
 * enough: the repository's `npm install` caches only the abbreviated metadata a lock needs, while
 * a fresh install resolves ranges (npm 11 no longer reads the shrinkwrap inside a tarball) and asks
 * for full metadata. Tarballs come from the npm cache (`npm pack name@version --offline`); each
 * package's metadata lists only the versions the lock holds, so the install resolves to them.
 * Our package.json's `overrides` (a dependency's own overrides do not apply when it is installed)
 * are applied to the dependency ranges served, so the install is the tree the lock tested rather
 * than one that needs versions the npm cache never saw.
 */

const lockEntrySchema = z.object({
  name: z.string().optional(),
  version: z.string().optional(),
  dev: z.boolean().optional(),
  inBundle: z.boolean().optional(),
  link: z.boolean().optional(),
  os: z.array(z.string()).optional(),
  cpu: z.array(z.string()).optional(),
  libc: z.array(z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
  peerDependencies: z.record(z.string(), z.string()).optional(),
  // Copied to the metadata as the lock has them (old packages give engines as an array).
  peerDependenciesMeta: z.unknown().optional(),
  bin: z.unknown().optional(),
  engines: z.unknown().optional(),
  hasInstallScript: z.boolean().optional(),
});
const lockSchema = z.object({ packages: z.record(z.string(), lockEntrySchema) });
const overridesSchema = z.object({ overrides: z.record(z.string(), z.string()).optional() });
type LockEntry = z.infer<typeof lockEntrySchema>;

export interface RegistryPackage {
  name: string;
  version: string;
  entry: LockEntry;
  /** Whether this machine installs it (its os, cpu and libc match); only those need a tarball. */
  installable: boolean;
}

/** `["linux"]`, `["!win32"]`: npm's platform lists. */
function platformAllows(list: string[] | undefined, value: string): boolean {
  if (!list) return true;
  if (list.includes(value)) return true;
  return list.every((item) => item.startsWith('!')) && !list.includes(`!${value}`);
}

function overridden(ranges: Record<string, string> | undefined, overrides: Record<string, string>): Record<string, string> | undefined {
  return ranges && Object.fromEntries(Object.entries(ranges).map(([name, range]) => [name, overrides[name] ?? range]));
}

/** What a user's install can ask the registry for: every package of the lock that is not dev-only, bundled or linked. */
export function registryPackages(lock: unknown, overrides: Record<string, string>, platform: { os: string; cpu: string; libc: string }): RegistryPackage[] {
  const found = new Map<string, RegistryPackage>();
  for (const [path, locked] of Object.entries(lockSchema.parse(lock).packages)) {
    if (!path.startsWith('node_modules/') || locked.dev || locked.inBundle || locked.link || !locked.version) continue;
    const entry = { ...locked, dependencies: overridden(locked.dependencies, overrides), optionalDependencies: overridden(locked.optionalDependencies, overrides) };
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const installable = platformAllows(entry.os, platform.os) && platformAllows(entry.cpu, platform.cpu) && platformAllows(entry.libc, platform.libc);
    found.set(`${name}@${locked.version}`, { name, version: locked.version, entry, installable });
  }
  return [...found.values()];
}

const packedSchema = z.array(z.object({ id: z.string(), filename: z.string() }));

export interface LockRegistry {
  url: string;
  /** Package names whose metadata was asked for. */
  asked: Set<string>;
  close(): Promise<void>;
}

/** Packs the installable packages of `root`'s lock from the npm cache into `dir` and serves them on 127.0.0.1. */
export async function startLockRegistry(root: string, dir: string, npmEnv: NodeJS.ProcessEnv): Promise<LockRegistry> {
  const libc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime ? 'glibc' : 'musl';
  const lock: unknown = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
  const { overrides = {} } = overridesSchema.parse(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')));
  const packages = registryPackages(lock, overrides, { os: process.platform, cpu: process.arch, libc });
  const specs = packages.filter((pkg) => pkg.installable).map((pkg) => `${pkg.name}@${pkg.version}`);
  const pack = await runProcess('npm', ['pack', '--offline', '--json', '--pack-destination', dir, ...specs], { cwd: dir, env: npmEnv });
  if (pack.code !== 0) throw new Error(`npm pack from the npm cache failed (did \`npm install\` run here?): ${pack.stderr}`);
  const files = new Map(packedSchema.parse(JSON.parse(pack.stdout)).map((packed) => [packed.id, packed.filename]));
  const integrity = new Map<string, string>();
  for (const [id, file] of files) integrity.set(id, `sha512-${createHash('sha512').update(await readFile(join(dir, file))).digest('base64')}`);

  const tarballs = new Set(files.values());
  const byName = new Map<string, RegistryPackage[]>();
  for (const pkg of packages) byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);
  // Metadata as the registry gives it: what the lock recorded of each version, and where its tarball is.
  const manifest = (origin: string, { name, version, entry }: RegistryPackage) => {
    const id = `${name}@${version}`;
    const { dev: _dev, inBundle: _inBundle, link: _link, ...recorded } = entry;
    return { ...recorded, name, version, dist: { tarball: `${origin}/-/tarballs/${encodeURIComponent(files.get(id) ?? `${id}.tgz`)}`, integrity: integrity.get(id) } };
  };

  const asked = new Set<string>();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://registry').pathname.slice(1));
    const tarball = path.startsWith('-/tarballs/') ? path.slice('-/tarballs/'.length) : null;
    if (tarball !== null && tarballs.has(tarball)) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(join(dir, tarball)).pipe(response);
      return;
    }
    const versions = byName.get(path);
    if (!versions) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    asked.add(path);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ name: path, 'dist-tags': { latest: versions.at(-1)!.version }, versions: Object.fromEntries(versions.map((pkg) => [pkg.version, manifest(origin, pkg)])) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    asked,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
