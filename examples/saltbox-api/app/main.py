# The reference runbook's app: FastAPI under gunicorn with uvicorn workers (Debian's python3-fastapi,
# gunicorn and python3-uvicorn). bluegreen runs it from a release directory and tells it which
# release and color it is through the environment.
import asyncio
import os

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
RELEASE = os.environ.get("BLUEGREEN_RELEASE", "unknown")
COLOR = os.environ.get("BLUEGREEN_COLOR", "unknown")


@app.get("/healthz")
def healthz():
    # A real app checks what it depends on here (its database, say), with short timeouts.
    return {"status": "ok"}


@app.get("/v")
def version():
    return {"release": RELEASE, "color": COLOR}


@app.get("/stream")
async def stream(lines: int = 30, every_ms: int = 100):
    """A long-lived response, to see a switch leave open connections alone."""
    async def gen():
        for i in range(lines):
            yield f"{RELEASE} {i}\n"
            await asyncio.sleep(every_ms / 1000)
    return StreamingResponse(gen(), media_type="text/plain")
