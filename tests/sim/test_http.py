"""The simulator's HTTP client against a raw socket server that answers with scripted bytes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from botify.sim.agents.http import TRANSPORT_ERRORS, HttpConnection

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


def against(answer: Answer, requests: int, *, timeout: float, together: bool) -> tuple[list[object], int]:
    """Send ``requests`` POSTs on one client connection to a server that runs ``answer`` per connection.

    One after another, or ``together`` from as many coroutines (pipelined); returns each outcome and the number
    of connections the server saw.
    """
    async def main() -> tuple[list[object], int]:
        connections = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                await answer(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        client = HttpConnection("127.0.0.1", server.sockets[0].getsockname()[1], timeout=timeout)

        async def one(index: int) -> object:
            try:
                return await client.request("POST", f"/next/{index}", b'{"track": 1, "time": 0.5}',
                                            {"X-Request-Id": f"r-{index}"})
            except TRANSPORT_ERRORS as error:
                return error

        if together:
            outcomes = list(await asyncio.gather(*(one(index) for index in range(requests))))
        else:
            outcomes = [await one(index) for index in range(requests)]
        client.close()
        server.close()
        await server.wait_closed()
        return outcomes, connections

    return asyncio.run(main())


def exchange(answer: Answer, requests: int = 1, timeout: float = 5.0) -> tuple[list[object], int]:
    """Send ``requests`` POSTs one after another on one client connection."""
    return against(answer, requests, timeout=timeout, together=False)


def replies(*responses: bytes, byte_by_byte: bool = False) -> Answer:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            await read_request(reader)
            for piece in ([response[i:i + 1] for i in range(len(response))] if byte_by_byte else [response]):
                writer.write(piece)
                await writer.drain()
    return answer


OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"track": 42}'


class TestHttpConnection:
    def test_keep_alive_carries_several_requests_on_one_connection(self) -> None:
        outcomes, connections = exchange(replies(OK, OK, OK), requests=3)
        assert outcomes == [(200, b'{"track": 42}')] * 3 and connections == 1

    def test_a_response_that_arrives_byte_by_byte(self) -> None:
        chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n"
        outcomes, _ = exchange(replies(OK, chunked, byte_by_byte=True), requests=2)
        assert outcomes == [(200, b'{"track": 42}'), (201, b"abcdefg")]

    def test_a_body_without_length_runs_to_the_end_of_the_connection(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")

        outcomes, _ = exchange(answer)
        assert outcomes == [(200, b"until the end")]

    def test_connection_close_makes_the_next_request_reconnect(self) -> None:
        closing = OK.replace(b"content-length", b"Connection: close\r\ncontent-length")
        outcomes, connections = exchange(replies(closing, OK), requests=2)
        assert outcomes == [(200, b'{"track": 42}')] * 2 and connections == 2

    def test_a_server_that_hangs_up_before_answering(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)

        outcomes, _ = exchange(answer)
        assert isinstance(outcomes[0], ConnectionResetError)

    def test_a_cut_off_response_is_an_incomplete_read(self) -> None:
        outcomes, _ = exchange(replies(OK[:-5]))
        assert isinstance(outcomes[0], asyncio.IncompleteReadError) and outcomes[0].partial == OK[:-5]

    def test_an_unparsable_status_line(self) -> None:
        outcomes, _ = exchange(replies(b"garbage\r\n\r\n"))
        assert isinstance(outcomes[0], IndexError | ValueError)

    def test_a_server_that_never_answers_times_out(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(5)

        started = time.monotonic()
        outcomes, _ = exchange(answer, timeout=0.2)
        assert isinstance(outcomes[0], TimeoutError)
        assert time.monotonic() - started < 3


def pipelined(answer: Answer, requests: int, timeout: float = 5.0) -> tuple[list[object], int]:
    """Send ``requests`` POSTs at once from as many coroutines sharing one client connection."""
    return against(answer, requests, timeout=timeout, together=True)


def numbered(index: int, close: bool = False) -> bytes:
    body = f'{{"n": {index}}}'.encode()
    return (b"HTTP/1.1 200 OK\r\n" + (b"Connection: close\r\n" if close else b"")
            + f"content-length: {len(body)}\r\n\r\n".encode() + body)


class TestPipelining:
    def test_requests_of_one_turn_leave_together_and_each_gets_its_own_answer(self) -> None:
        reads: list[bytes] = []

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            reads.append(await reader.read(65536))  # all four requests, in one segment
            writer.write(b"".join(numbered(index) for index in range(4)))  # and every answer in one
            await writer.drain()

        outcomes, connections = pipelined(answer, 4)
        assert reads[0].count(b"POST ") == 4 and connections == 1
        assert re.findall(rb"POST (\S+) HTTP", reads[0]) == [b"/next/0", b"/next/1", b"/next/2", b"/next/3"]
        assert outcomes == [(200, f'{{"n": {index}}}'.encode()) for index in range(4)]

    def test_a_server_that_hangs_up_fails_every_request_in_flight(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(numbered(0))
            await writer.drain()

        outcomes, _ = pipelined(answer, 3)
        assert outcomes[0] == (200, b'{"n": 0}')
        assert all(isinstance(outcome, ConnectionResetError | asyncio.IncompleteReadError) for outcome in outcomes[1:])

    def test_every_request_in_flight_times_out_on_a_silent_server(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            await asyncio.sleep(5)

        started = time.monotonic()
        outcomes, _ = pipelined(answer, 3, timeout=0.2)
        assert all(isinstance(outcome, TimeoutError) for outcome in outcomes)
        assert time.monotonic() - started < 3

    def test_connection_close_answers_its_request_and_the_next_ones_reconnect(self) -> None:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(numbered(0, close=True))
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        async def main() -> list[object]:
            server = await asyncio.start_server(answer, "127.0.0.1", 0)
            client = HttpConnection("127.0.0.1", server.sockets[0].getsockname()[1], timeout=5)
            first = await client.request("POST", "/next/0", b"{}")
            second = await client.request("POST", "/next/1", b"{}")
            client.close()
            server.close()
            await server.wait_closed()
            return [first, second]

        assert asyncio.run(main()) == [(200, b'{"n": 0}')] * 2
