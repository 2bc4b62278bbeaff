"""A TCP relay for the `transit` breakage: traffic between two regions through a third site.

    python -m aftershock.breakages.transit LISTEN_HOST:PORT=TARGET_HOST:PORT ...

Run inside the witness's namespace, it accepts on each listen address and
copies bytes both ways to its target. A partition between taiwan and tokyo
cuts their own addresses; a relay in the witness is a path it does not cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


def _handler(host: str, port: int):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


async def _serve(pairs: list[tuple[str, int, str, int]]) -> None:
    servers = [
        await asyncio.start_server(_handler(to_host, to_port), host, port, reuse_address=True)
        for host, port, to_host, to_port in pairs
    ]
    for host, port, to_host, to_port in pairs:
        print(f"relaying {host}:{port} -> {to_host}:{to_port}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str]) -> None:
    pairs = []
    for arg in argv:
        listen, _, target = arg.partition("=")
        pairs.append((*_address(listen), *_address(target)))
    if not pairs:
        raise SystemExit("usage: transit LISTEN_HOST:PORT=TARGET_HOST:PORT ...")
    asyncio.run(_serve(pairs))


if __name__ == "__main__":
    main(sys.argv[1:])
