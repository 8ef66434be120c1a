"""AiPlugs worker host for Python plugin backends.

Imports the plugin's backend module (e.g. backend.py) and serves its ``run(payload)`` over a
private channel: JSON lines in on one file descriptor, JSON lines out on another. stdout and
stderr are left alone, so whatever the backend prints (the seed's example prints at import) goes
to the gateway log and can never corrupt a reply.

Contract with the backend, unchanged from the seed: a module-level ``run(payload)``, plain or
``async``, returning JSON. A generator (sync or async) streams: every yielded value is sent as a
partial result and the final result is the list of them.

Usage (the gateway starts it; nobody else needs to):
    python -u python-host.py --entry /plugins/x/backend.py --in-fd 3 --out-fd 4 --parent-pid 1234
Runs on Python 3.8+ with the standard library only.
"""

import argparse
import asyncio
import concurrent.futures
import importlib.util
import inspect
import json
import os
import signal
import sys
import threading
import time
import traceback

MAX_TRACEBACK = 8000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", required=True)
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--data-limit-mb", type=int, default=0)
    return parser.parse_args()


def cap_memory(megabytes):
    """A backstop under the gateway's watchdog, which enforces workers.max_memory_mb on resident
    memory: an allocation burst between two of its samples gets MemoryError here instead of
    exhausting the machine. The gateway sets it well above the cap.

    RLIMIT_DATA (heap and private mappings) rather than RLIMIT_AS: native libraries reserve large
    address ranges they never touch, which an address-space cap would wrongly refuse.
    """
    if megabytes <= 0:
        return
    try:
        import resource
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ImportError, ValueError, OSError) as error:
        sys.stderr.write("aiplugs: could not cap worker memory: %s\n" % error)


class Channel:
    """Writes whole lines to the out fd. Only the event loop thread writes, so no lock is needed
    for ordering; the lock guards against a backend thread that reaches us some other way."""

    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()
        os.set_blocking(fd, True)

    def send(self, message):
        data = (json.dumps(message, default=to_json, allow_nan=False, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self.fd, view)
                except OSError as error:
                    # The channel is gone (a backend closed the fd, the gateway's end went away): no
                    # call can be answered any more, so the worker ends, and the gateway restarts it
                    # at once instead of waiting out every call's timeout.
                    sys.stderr.write("aiplugs host: cannot answer the gateway (%s); exiting\n" % error)
                    die_with_group()
                view = view[written:]


def to_json(value):
    """Accept what ML code returns without ceremony: numpy arrays/scalars, tuples-likes, sets."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


HOST_FILE = os.path.abspath(__file__)


def format_error(error):
    """The traceback of the plugin's own code: the host's and importlib's frames are noise."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(frame.filename) != HOST_FILE and not frame.filename.startswith("<frozen")]
    text = "".join(traceback.format_exception_only(type(error), error))
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
    return text


def describe(error):
    return {"type": type(error).__name__, "message": str(error) or type(error).__name__, "traceback": format_error(error)[-MAX_TRACEBACK:]}


def die_with_group():
    """Leave nothing behind: when the host is its own process-group leader (the gateway starts it
    that way), take any processes the backend spawned down with it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        if os.name == "posix" and os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(0)


def watch_parent(parent_pid):
    """If the gateway dies without closing our channel cleanly (kill -9), we are re-parented.
    A daemon thread notices even while run() is busy in the main thread's executor."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            die_with_group()


def load_backend(entry):
    directory = os.path.dirname(os.path.abspath(entry))
    if directory not in sys.path:
        sys.path.insert(0, directory)  # let the backend import its sibling modules
    name = os.path.splitext(os.path.basename(entry))[0]
    spec = importlib.util.spec_from_file_location(name, entry)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as a Python module" % entry)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise AttributeError("%s defines no run(payload) function" % os.path.basename(entry))
    return run


class Host:
    def __init__(self, run, channel, concurrency):
        self.run = run
        self.channel = channel
        self.loop = asyncio.new_event_loop()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="aiplugs-run")
        self.tasks = {}
        self.cancelled = set()

    def send_error(self, request_id, error):
        """Every request is answered: an exception that cannot be described (its __str__ raises)
        or sent (a lone surrogate in its message) is reported by its type alone, rather than
        leaving the caller to wait for the timeout."""
        try:
            self.channel.send({"type": "error", "id": request_id, "error": describe(error)})
        except Exception as problem:
            name = type(error).__name__
            self.channel.send({"type": "error", "id": request_id, "error": {"type": name, "message": "%s (its message could not be sent: %s)" % (name, problem)}})

    def send_chunk(self, request_id, data):
        self.channel.send({"type": "chunk", "id": request_id, "data": data})

    def run_sync(self, request_id, payload):
        """Runs a plain run() in a worker thread; a sync generator is drained there too, so a
        slow generator never blocks the loop that reads cancel messages."""
        value = self.run(payload)
        if inspect.isgenerator(value):
            chunks = []
            for item in value:
                if request_id in self.cancelled:
                    value.close()
                    break
                chunks.append(item)
                self.loop.call_soon_threadsafe(self.send_chunk, request_id, item)
            return chunks
        return value

    async def handle(self, request_id, payload):
        try:
            if inspect.iscoroutinefunction(self.run) or inspect.isasyncgenfunction(self.run):
                value = self.run(payload)
            else:
                value = await self.loop.run_in_executor(self.executor, self.run_sync, request_id, payload)
            if inspect.isawaitable(value):
                value = await value
            if inspect.isasyncgen(value):
                chunks = []
                async for item in value:
                    chunks.append(item)
                    self.send_chunk(request_id, item)
                value = chunks
            if request_id in self.cancelled:
                self.channel.send({"type": "cancelled", "id": request_id})
                return
            try:
                self.channel.send({"type": "result", "id": request_id, "result": value})
            except (TypeError, ValueError) as error:
                self.channel.send({"type": "error", "id": request_id, "error": {"type": "TypeError", "message": "run() returned a value that is not JSON: %s" % error}})
        except asyncio.CancelledError:
            self.channel.send({"type": "cancelled", "id": request_id})
        except BaseException as error:  # the backend's exception goes to the caller; the worker stays up
            self.send_error(request_id, error)
        finally:
            self.tasks.pop(request_id, None)
            self.cancelled.discard(request_id)

    def on_line(self, line):
        try:
            message = json.loads(line)
            kind = message["type"]
            request_id = message["id"]
        except Exception as error:
            sys.stderr.write("aiplugs host: ignoring a malformed request line (%s)\n" % error)
            return
        if kind == "request":
            self.tasks[request_id] = self.loop.create_task(self.handle(request_id, message.get("payload")))
        elif kind == "cancel" and request_id in self.tasks:
            # A request that already finished has nothing to cancel (the gateway cancels one whose
            # answer it could not read); remembering its id would only leak it.
            self.cancelled.add(request_id)
            task = self.tasks.get(request_id)
            # Only an async run() can be interrupted mid-way; a sync one stops at its next yield
            # or finishes and has its answer reported as cancelled.
            if task is not None and (inspect.iscoroutinefunction(self.run) or inspect.isasyncgenfunction(self.run)):
                task.cancel()

    def serve(self, in_fd):
        host = self

        class Reader(asyncio.Protocol):
            def __init__(self):
                # Pieces of the current line: joined once its newline arrives, so a large payload
                # that comes in many reads is copied once, not once per read.
                self.parts = []

            def data_received(self, data):
                start = 0
                while True:
                    newline = data.find(b"\n", start)
                    if newline < 0:
                        if start < len(data):
                            self.parts.append(data[start:])
                        return
                    self.parts.append(data[start:newline])
                    line = b"".join(self.parts)
                    self.parts = []
                    start = newline + 1
                    if line.strip():
                        host.on_line(line.decode("utf-8"))

            def eof_received(self):
                # The gateway closed the channel: it is stopping or gone. Nothing more will come.
                die_with_group()

            def connection_lost(self, exc):
                die_with_group()

        pipe = os.fdopen(in_fd, "rb", buffering=0)
        self.loop.run_until_complete(self.loop.connect_read_pipe(Reader, pipe))
        self.loop.run_forever()


def main():
    args = parse_args()
    cap_memory(args.data_limit_mb)
    channel = Channel(args.out_fd)
    threading.Thread(target=watch_parent, args=(args.parent_pid,), name="aiplugs-parent-watch", daemon=True).start()
    try:
        run = load_backend(args.entry)
    except BaseException as error:
        sys.stderr.write(format_error(error))
        sys.stderr.flush()
        channel.send({"type": "fatal", "error": describe(error)})
        sys.stdout.flush()
        os._exit(1)
    channel.send({"type": "ready", "pid": os.getpid(), "runtime": "python", "version": sys.version.split()[0]})
    Host(run, channel, args.concurrency).serve(args.in_fd)


if __name__ == "__main__":
    main()
