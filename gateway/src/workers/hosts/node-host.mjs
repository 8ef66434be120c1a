// AiPlugs worker host for Node plugin backends (.js, .mjs, .cjs, and .ts through tsx).
//
// Imports the backend module and serves its `run(payload)` over a private channel: JSON lines in
// on one file descriptor, JSON lines out on another. stdout and stderr are left to the backend, so
// its console.log() goes to the gateway log and can never corrupt a reply.
//
// Contract with the backend (the seed's): an exported `run(payload)`, sync or async, returning
// JSON. A second argument `{ signal }` is passed for cancellation. A generator or async
// generator streams: every yielded value is a partial result and the final result is their list.
//
// Usage (the gateway starts it): node node-host.mjs --entry FILE --in-fd 3 --out-fd 4 --parent-pid N
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const { values: args } = parseArgs({
  options: {
    entry: { type: 'string' },
    'in-fd': { type: 'string' },
    'out-fd': { type: 'string' },
    'parent-pid': { type: 'string' },
    concurrency: { type: 'string', default: '1' },
  },
});

const MAX_TRACEBACK = 8000;
const output = new Socket({ fd: Number(args['out-fd']), readable: false, writable: true });
const send = (message) => output.write(`${JSON.stringify(message)}\n`);

function describe(error) {
  if (error instanceof Error) {
    return { type: error.name || 'Error', message: error.message || error.name || 'Error', traceback: String(error.stack ?? '').slice(-MAX_TRACEBACK) };
  }
  return { type: 'Error', message: typeof error === 'string' ? error : `non-Error thrown: ${safeStringify(error)}` };
}

/**
 * One answer line carrying a backend value: a result, or a chunk's data. JSON.stringify throws on
 * some values (a BigInt, a cycle) and silently leaves out or changes others (a function, a Symbol,
 * an object whose toJSON() returns undefined; NaN and ±Infinity become null); all of them throw
 * here, because an answer without its value is not one the gateway can settle the call with.
 * `what` says where the value came from, `root` names it in a path (`result.a[0].b`).
 */
function valueLine(message, key, value, what, root) {
  let json;
  try {
    json = JSON.stringify(value ?? null);
  } catch (error) {
    throw new TypeError(`${what} a value that is not JSON: ${error.message}`);
  }
  if (json === undefined) throw new TypeError(`${what} a value that is not JSON: ${typeof value === 'object' ? 'its toJSON() gave nothing JSON can hold' : `a ${typeof value}`}`);
  // NaN and ±Infinity were written as null: only a text with a null can hide one.
  const nonFinite = json.includes('null') ? findNonFinite(value, root) : undefined;
  if (nonFinite) throw new TypeError(`${what} a value that is not JSON: ${nonFinite}`);
  // Spliced in rather than stringified again inside the message: a result may be megabytes.
  return `${JSON.stringify(message).slice(0, -1)},${JSON.stringify(key)}:${json}}\n`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The first NaN or ±Infinity in `value`, described with its path, as the Python host words it; or
 * undefined. Walks with JSON.stringify itself (a replacer), so it sees exactly what was written
 * (toJSON() results, own enumerable keys, boxed numbers): linear, and only for texts with a null.
 */
function findNonFinite(value, root) {
  const paths = new Map(); // an object → its path, set when it is met, read for its members
  let found;
  try {
    JSON.stringify(value ?? null, function (key, item) {
      const path = key === '' && !paths.has(this) ? root : `${paths.get(this)}${Array.isArray(this) ? `[${key}]` : IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`;
      const number = item instanceof Number ? Number(item) : item;
      if (typeof number === 'number' && !Number.isFinite(number)) {
        found = `${path} is ${number}; JSON has no NaN or Infinity (send null or a string)`;
        throw found;
      }
      if (item !== null && typeof item === 'object') paths.set(item, path);
      return item;
    });
  } catch {
    // thrown to stop at the first one found
  }
  return found;
}

function safeStringify(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// Leave nothing behind: the gateway makes us a process-group leader, so killing the group also
// takes down anything the backend spawned.
function dieWithGroup() {
  try {
    if (process.platform !== 'win32') process.kill(-process.pid, 'SIGKILL');
  } catch {
    // not a group leader (started by hand): just go
  }
  process.exit(0);
}

// If the gateway is killed with -9 we are re-parented. A busy synchronous run() would block this
// thread's timers, so a tiny worker thread does the watching; it is unref'd and costs no startup.
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) { try { process.kill(-process.pid, 'SIGKILL'); } catch {} process.kill(process.pid, 'SIGKILL'); } }, 500);`,
  { eval: true, workerData: Number(args['parent-pid']) },
);
watchdog.unref();

let run;
try {
  const module = await import(pathToFileURL(args.entry).href);
  run = module.run ?? module.default?.run ?? (typeof module.default === 'function' ? module.default : undefined);
  if (typeof run !== 'function') throw new TypeError(`${args.entry.split(/[\\/]/).pop()} exports no run(payload) function`);
} catch (error) {
  console.error(error);
  send({ type: 'fatal', error: describe(error) });
  output.end(() => process.exit(1));
  await new Promise(() => {}); // wait for the flush above
}

const controllers = new Map();

// A generator (or any iterator) streams; arrays and plain objects are ordinary results.
function isStream(value) {
  if (value === null || typeof value !== 'object' || typeof value.next !== 'function') return false;
  return typeof value[Symbol.asyncIterator] === 'function' || typeof value[Symbol.iterator] === 'function';
}

async function handle(id, payload) {
  const controller = new AbortController();
  controllers.set(id, controller);
  try {
    let value = await run(payload, { signal: controller.signal });
    if (isStream(value)) {
      const chunks = [];
      for await (const item of value) {
        if (controller.signal.aborted) break;
        chunks.push(item);
        output.write(valueLine({ type: 'chunk', id }, 'data', item, 'run() yielded', 'chunk'));
      }
      value = chunks;
    }
    if (controller.signal.aborted) {
      send({ type: 'cancelled', id });
      return;
    }
    let line;
    try {
      line = valueLine({ type: 'result', id }, 'result', value, 'run() returned', 'result');
    } catch (error) {
      send({ type: 'error', id, error: { type: 'TypeError', message: error.message } });
      return;
    }
    output.write(line);
  } catch (error) {
    if (controller.signal.aborted) send({ type: 'cancelled', id });
    else send({ type: 'error', id, error: describe(error) });
  } finally {
    controllers.delete(id);
  }
}

function onLine(line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch (error) {
    console.error(`aiplugs host: ignoring a malformed request line (${error.message})`);
    return;
  }
  if (message.type === 'request') void handle(message.id, message.payload);
  else if (message.type === 'cancel') controllers.get(message.id)?.abort();
}

const input = new Socket({ fd: Number(args['in-fd']), readable: true, writable: false });
// Pieces of the current line, joined once its newline arrives: a large payload that comes in many
// reads is scanned and copied once, not once per read.
let parts = [];
input.on('data', (chunk) => {
  let start = 0;
  for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
    parts.push(chunk.subarray(start, newline));
    const line = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8');
    parts = [];
    start = newline + 1;
    if (line.trim()) onLine(line);
  }
  if (start < chunk.length) parts.push(chunk.subarray(start));
});
// The gateway closed the channel: it is stopping or gone.
input.on('end', dieWithGroup);
input.on('error', dieWithGroup);

send({ type: 'ready', pid: process.pid, runtime: 'node', version: process.versions.node });
