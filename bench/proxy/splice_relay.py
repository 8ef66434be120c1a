"""A zero-copy TCP relay: the least CPU a hop can spend on Linux.

Each byte goes from one socket into a pipe and from the pipe into the other socket by splice(2),
so it is never copied into user space, and nothing is parsed. The proxy benchmark runs it beside
the gateway and a plain Node relay: it shows how much of what a big transfer loses through a hop
comes from the hop's own CPU, and how much from the second trip through loopback TCP that any
hop adds.

Usage: python3 splice_relay.py <target port>; prints the port it listens on (127.0.0.1).
"""

import fcntl
import os
import socket
import sys
import threading

CHUNK = 1 << 20


def pump(source: socket.socket, target: socket.socket) -> None:
    read_end, write_end = os.pipe()
    try:
        # A pipe holds 64 KiB by default: a larger one means fewer system calls per GiB.
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, CHUNK)
        while True:
            moved = os.splice(source.fileno(), write_end, CHUNK, flags=os.SPLICE_F_MOVE)
            if moved == 0:
                break
            while moved > 0:
                moved -= os.splice(read_end, target.fileno(), moved, flags=os.SPLICE_F_MOVE)
    except OSError:
        pass
    finally:
        os.close(read_end)
        os.close(write_end)
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client: socket.socket, target_port: int) -> None:
    with client, socket.create_connection(("127.0.0.1", target_port)) as upstream:
        upload = threading.Thread(target=pump, args=(client, upstream), daemon=True)
        upload.start()
        pump(upstream, client)
        upload.join()


def main() -> None:
    target_port = int(sys.argv[1])
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    main()
