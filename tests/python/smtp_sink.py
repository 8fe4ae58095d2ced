"""SMTP sink for the Rust test harness.

Usage: python smtp_sink.py PORT DIR

Listens on 127.0.0.1:PORT (plain SMTP, no TLS, no AUTH) and stores every message accepted with DATA as
DIR/<n>.eml (n = 1, 2, 3, ... in arrival order), holding the raw RFC 5322 message exactly as received (CRLF line
endings, dot-unstuffed). Each file is written under a temporary name and renamed, so a file that exists is complete.
Prints "ready" on stdout once listening; exits with status 0 on SIGTERM or SIGINT.
"""
import asyncio
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class SinkHandler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d.eml" % self.count
        tmp = os.path.join(self.directory, ".%s.tmp" % name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.directory, name))
        return "250 OK message stored as %s" % name


async def serve(port, directory):
    loop = asyncio.get_running_loop()
    handler = SinkHandler(directory)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.local", enable_SMTPUTF8=True, loop=loop),
        host="127.0.0.1", port=port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=2)
    except asyncio.TimeoutError:
        pass


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: %s PORT DIR\n" % argv[0])
        return 2
    port = int(argv[1])
    directory = argv[2]
    os.makedirs(directory, exist_ok=True)
    asyncio.run(serve(port, directory))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
