"""The FastAPI peer for bench/run: the same answer as tycho's bench route
(bench/routes/bench.lua) and OpenResty's (bench/openresty/nginx.conf),
GET /json -> {"ok":true} as application/json with a Content-Length.

Started by bench/lib/servers.sh with Debian's /usr/bin/python3:
  uvicorn app:app --workers 1 --loop uvloop --http httptools   (the fast stack)
  uvicorn app:app --workers 1 --loop asyncio --http h11        (the pure-Python one)
The handler is `async def`: the faster of FastAPI's two kinds (a plain `def`
runs in a thread pool), so the peer is shown at its best.
"""
from fastapi import FastAPI

app = FastAPI()


@app.get("/json")
async def json_ok():
    return {"ok": True}
