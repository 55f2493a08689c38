"""A real SMTP server on loopback for the e-mail tests (aiosmtpd).

Binds 127.0.0.1 port 0 itself, prints `listening on PORT` once ready, and writes each
message it accepts to DIR as `<n>.eml` (the raw message, recipients in `X-Rcpt-To`).
Runs until killed.
"""
import asyncio
import itertools
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        path = os.path.join(self.directory, f"{n}.eml")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.replace(tmp, path)
        return "250 OK"


async def main(directory):
    loop = asyncio.get_running_loop()
    sink = Sink(directory)
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
