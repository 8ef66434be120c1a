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
import math
import os
import re
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
        self.write((json.dumps(message, default=to_json, allow_nan=False, ensure_ascii=False) + "\n").encode("utf-8"))

    def write(self, data):
        """Writes one encoded line (see value_line)."""
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


# JavaScript reads every JSON number as a double: beyond this an integer arrives changed (2**64 + 1
# as 18446744073709551616, 10**400 as Infinity, and so as null).
MAX_SAFE_INTEGER = 2 ** 53 - 1
# An integer token of 16 digits or more (not digits of a float: no "." or exponent next to it) is
# the only way an int outside that range shows in json.dumps' output. Rare, so only then is the
# value walked to tell for sure; a long digit string in the text just costs that walk.
LONG_INTEGER = re.compile(r"(?<![\d.])\d{16,}(?![\d.eE])")
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*\Z", re.ASCII)


def value_line(message, key, value, what, root):
    """One answer line carrying a backend value (a result, or a chunk's data) as `key`, encoded.
    Raises TypeError, saying what and where (`result.a[0].b`), for a value JSON cannot carry
    faithfully: not JSON at all, NaN or ±Infinity, or an integer JavaScript cannot hold exactly.
    The value is serialised once and spliced in, and walked only when the text shows a suspect."""
    try:
        body = json.dumps(value, default=to_json, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise TypeError("%s a value that is not JSON: %s" % (what, find_unfaithful(value, root) or error))
    if LONG_INTEGER.search(body):
        problem = find_unfaithful(value, root)
        if problem:
            raise TypeError("%s a value that is not JSON: %s" % (what, problem))
    try:
        return "".join([json.dumps(message)[:-1], ", ", json.dumps(key), ": ", body, "}\n"]).encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate
        raise TypeError("%s a value that is not JSON: %s" % (what, error))


def find_unfaithful(value, root):
    """The first value in `value` that JSON cannot carry faithfully to JavaScript, described with
    its path from `root`: NaN or ±Infinity, or an int outside ±(2**53 - 1). None if there is none
    (or only values json.dumps refuses for another reason). Walks as json.dumps does (to_json for
    other types), in document order, each container once, without recursion: linear."""
    seen = {}  # id -> object, kept alive so that no id is reused while walking
    stack = [(value, None)]  # (value, (parent entry, key or index))
    while stack:
        entry = stack.pop()
        item = entry[0]
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            shown = str(item) if item.bit_length() <= 128 else "an integer of %d bits" % item.bit_length()
            return "%s is %s, outside JavaScript's safe integer range \u00b1(2^53 \u2212 1): send large numbers as strings" % (path_of(entry, root), shown)
        if isinstance(item, float):
            if math.isfinite(item):
                continue
            shown = "NaN" if math.isnan(item) else "Infinity" if item > 0 else "-Infinity"
            return "%s is %s; JSON has no NaN or Infinity (send null or a string)" % (path_of(entry, root), shown)
        if id(item) in seen:
            continue
        seen[id(item)] = item
        if isinstance(item, dict):
            children = [(child, (entry, name if isinstance(name, str) else json.dumps(name))) for name, child in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(child, (entry, index)) for index, child in enumerate(item)]
        else:
            try:
                children = [(to_json(item), entry[1])]
            except Exception:
                continue
        stack.extend(reversed(children))
    return None


def path_of(entry, root):
    """`result.a[0]["b c"]`: the path of a walked entry, written the way JavaScript would."""
    keys = []
    while entry[1] is not None:
        entry, key = entry[1]
        keys.append(key)
    parts = [root]
    for key in reversed(keys):
        if isinstance(key, int):
            parts.append("[%d]" % key)
        elif IDENTIFIER.match(key):
            parts.append("." + key)
        else:
            parts.append("[%s]" % json.dumps(key, ensure_ascii=False))
    return "".join(parts)


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

    @staticmethod
    def chunk_line(request_id, data):
        return value_line({"type": "chunk", "id": request_id}, "data", data, "run() yielded", "chunk")

    def run_sync(self, request_id, payload):
        """Runs a plain run() in a worker thread; a sync generator is drained there too, so a
        slow generator never blocks the loop that reads cancel messages."""
        value = self.run(payload)
        if inspect.isgenerator(value):
            chunks = []
            try:
                for item in value:
                    if request_id in self.cancelled:
                        break
                    chunks.append(item)
                    # Encoded here, so a chunk that is not JSON fails the call (TypeError, to handle()).
                    self.loop.call_soon_threadsafe(self.channel.write, self.chunk_line(request_id, item))
            finally:
                value.close()
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
                    self.channel.write(self.chunk_line(request_id, item))
                value = chunks
            if request_id in self.cancelled:
                self.channel.send({"type": "cancelled", "id": request_id})
                return
            try:
                line = value_line({"type": "result", "id": request_id}, "result", value, "run() returned", "result")
            except TypeError as error:
                self.channel.send({"type": "error", "id": request_id, "error": {"type": "TypeError", "message": str(error)}})
                return
            self.channel.write(line)
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
    # The channel is the host's alone: programs the backend starts (os.system, a subprocess with
    # close_fds=False) must not inherit it, as they do not in the Node host.
    os.set_inheritable(args.in_fd, False)
    os.set_inheritable(args.out_fd, False)
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
