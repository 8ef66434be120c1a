/** Where the gateway's proxy listens: what the OS is pointed at. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/**
 * One OS's proxy settings. `read` returns an opaque JSON snapshot that `restore` puts back
 * exactly; `apply` points the OS at the gateway; `clear` turns the OS proxy off (no snapshot).
 */
export interface SystemProxyBackend {
  /** `gnome`, `macos` or `windows`: stored with the snapshot so it is restored the same way. */
  name: string;
  read(): Promise<unknown>;
  apply(target: ProxyTarget): Promise<void>;
  restore(snapshot: unknown): Promise<void>;
  clear(): Promise<void>;
  /** The loopback proxy the OS currently uses, if any (how residue from a crash is recognised). */
  currentLoopbackProxy(): Promise<ProxyTarget | null>;
}

export const isLoopbackHost = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i.test(host.trim());
