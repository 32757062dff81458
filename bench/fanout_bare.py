"""The baseline for bench/fanout.py: the plainest websocket fan-out Starlette can do.

    .venv/bin/python bench/fanout_bare.py PORT

Every socket is kept in one set; a text frame from any socket is sent to all of them by a
plain `for ... await send_text` loop: no queue, no task, no slow-client handling. It runs
under uvicorn with the server's own websocket options (server.cli.uvicorn_options), so
the difference to phonghop is the application alone.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.cli import uvicorn_options

sockets: set[WebSocket] = set()


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def fan_out(websocket: WebSocket) -> None:
    await websocket.accept()
    sockets.add(websocket)
    # Tells the client it is in the set, as phonghop's hello does.
    await websocket.send_text('{"type":"hello"}')
    try:
        while True:
            text = await websocket.receive_text()
            for ws in list(sockets):
                try:
                    await ws.send_text(text)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    sockets.discard(ws)
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


app = Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", fan_out)])

if __name__ == "__main__":
    options = {**uvicorn_options("127.0.0.1", int(sys.argv[1])), "log_level": "warning"}
    uvicorn.run(app, **options)
