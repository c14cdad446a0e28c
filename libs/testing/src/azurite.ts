// Azurite (Microsoft's storage emulator, an npm devDependency) for tests and the local stack: Blob and Table
// services on free loopback ports, in memory unless a folder is given, stopped with the returned handle.

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort, waitForPort } from './free-port.js';

/** Azurite's well-known development account. Public by design: it only ever opens the local emulator. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Keep data in this folder; default in memory. */
  readonly location?: string;
  readonly blobPort?: number;
  readonly tablePort?: number;
  readonly host?: string;
  /** Where Azurite's own output goes; default discarded. */
  readonly onOutput?: (line: string) => void;
  /**
   * Serve HTTPS with this certificate and require Entra ID bearer tokens (Azurite's `--oauth basic`: it checks a
   * token's audience, issuer and lifetime, not its signature). For testing the account-URL + credential path.
   */
  readonly oauth?: { readonly certPath: string; readonly keyPath: string };
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C does not stop it before the services using it
   * (the caller stops it last). It is killed if the caller's process exits first.
   */
  readonly ownProcessGroup?: boolean;
}

export interface AzuriteInstance {
  readonly blobPort: number;
  readonly tablePort: number;
  /** A storage connection string for both services. */
  readonly connectionString: string;
  readonly blobEndpoint: string;
  readonly tableEndpoint: string;
  stop(): Promise<void>;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const host = options.host ?? '127.0.0.1';
  // Free ports are found by binding and letting go; another process (a parallel test task) may take one
  // before Azurite binds it, and Azurite then exits at once. With ports of its own choosing, try again.
  const ownPorts = options.blobPort === undefined && options.tablePort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchAzurite(options, host);
    } catch (error) {
      if (!ownPorts || attempt >= 3 || !(error instanceof AzuriteExitedError)) throw error;
    }
  }
}

class AzuriteExitedError extends Error {}

async function launchAzurite(options: AzuriteOptions, host: string): Promise<AzuriteInstance> {
  const blobPort = options.blobPort ?? (await freePort(host));
  const tablePort = options.tablePort ?? (await freePort(host));
  const queuePort = await freePort(host);
  const require = createRequire(import.meta.url);
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  const args = [
    main,
    '--blobHost',
    host,
    '--blobPort',
    String(blobPort),
    '--tableHost',
    host,
    '--tablePort',
    String(tablePort),
    '--queueHost',
    host,
    '--queuePort',
    String(queuePort),
    '--skipApiVersionCheck',
    '--loose',
    '--disableProductStyleUrl',
    // Azurite reports usage to Application Insights unless told not to: nothing here may leave the machine.
    '--disableTelemetry',
    ...(options.oauth
      ? ['--oauth', 'basic', '--cert', options.oauth.certPath, '--key', options.oauth.keyPath]
      : []),
    ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
    ...(options.onOutput ? [] : ['--silent']),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup === true,
  });
  if (options.ownProcessGroup) {
    const orphanGuard = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
    process.on('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
  }
  // The last lines Azurite printed, for the error when it exits before listening.
  const lastLines: string[] = [];
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      options.onOutput?.(line);
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
    }
  };
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  try {
    await Promise.race([
      Promise.all([waitForPort(blobPort, host), waitForPort(tablePort, host)]),
      exited.then((code) => {
        throw new AzuriteExitedError(
          `Azurite exited with code ${code} before listening (ports ${blobPort}, ${tablePort})` +
            (lastLines.length > 0 ? `: ${lastLines.join(' | ')}` : ''),
        );
      }),
    ]);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }

  const scheme = options.oauth ? 'https' : 'http';
  const blobEndpoint = `${scheme}://${host}:${blobPort}/${AZURITE_ACCOUNT}`;
  const tableEndpoint = `${scheme}://${host}:${tablePort}/${AZURITE_ACCOUNT}`;
  return {
    blobPort,
    tablePort,
    blobEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobEndpoint};TableEndpoint=${tableEndpoint};`,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
