import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCACertificate } from 'mockttp';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestSite {
  /** `https://localhost:PORT` (or http://): test sites are named localhost, see STACK-NOTES. */
  origin: string;
  port: number;
  /** Paths requested so far, with the headers they came with. */
  requests: Array<{ path: string; headers: IncomingMessage['headers'] }>;
  /** The underlying server, e.g. to attach a WebSocket server. */
  server: Server;
  close(): Promise<void>;
}

let certificate: Promise<{ key: string; cert: string }> | null = null;

/** A website stand-in: a real HTTP(S) server on loopback with the given routes. */
export async function startTestSite(routes: Record<string, Handler>, options: { https?: boolean; maxHeaderSize?: number } = {}): Promise<TestSite> {
  const requests: TestSite['requests'] = [];
  const handle: Handler = (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    requests.push({ path, headers: request.headers });
    const route = routes[path];
    if (route) return route(request, response);
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };
  let server: Server;
  // Node takes request heads of 16 KiB by default; a site taking more (many cookies) says so.
  const limits = options.maxHeaderSize ? { maxHeaderSize: options.maxHeaderSize } : {};
  if (options.https === false) {
    server = createHttpServer(limits, handle);
  } else {
    certificate ??= generateCACertificate({ subject: { commonName: 'localhost' } });
    server = createHttpsServer({ ...(await certificate), ...limits }, handle);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${options.https === false ? 'http' : 'https'}://localhost:${port}`,
    port,
    requests,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A route that always answers with the same status, headers and body. */
export function respond(status: number, headers: Record<string, string>, body: string | Buffer): Handler {
  return (_request, response) => {
    response.writeHead(status, headers).end(body);
  };
}
