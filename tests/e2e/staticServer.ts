/**
 * A plain static file server for the deployment tests: serves one folder (the built `dist/`) under
 * one or more URL folders (`/lab/hdmea/`), as a lab's web server or a project page would, with no
 * rewrites and no special headers. Loopback only; the test closes it.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".csv": "text/csv",
  ".map": "application/json",
};

export interface StaticServer {
  origin: string;
  /** Every path requested, in order (to check that nothing is asked for outside the app's folder). */
  requests: string[];
  close(): Promise<void>;
}

export async function serveStatic(root: string, folders: string[]): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push(path);
    const folder = folders.find((f) => path.startsWith(f));
    if (!folder) {
      // A folder's URL without its slash: redirect as common servers do.
      const bare = folders.find((f) => path === f.slice(0, -1));
      res.writeHead(bare ? 301 : 404, bare ? { Location: bare } : {}).end();
      return;
    }
    let file = normalize(join(root, path.slice(folder.length)));
    if (!file.startsWith(normalize(root + sep)) && file !== normalize(root)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
