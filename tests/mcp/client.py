"""Drives `openclone mcp` with the official MCP Python SDK (mcp 2.3.0) over stdio, as an
assistant would: initialize, list the tools, call each, then calls with bad arguments.
Prints one JSON object with what it saw; tests/mcp.rs checks it.

    client.py OPENCLONE_BIN FOLDER
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


def text(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def main(binary, folder):
    params = StdioServerParameters(command=binary, args=["mcp"], cwd=folder)
    seen = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen["server"] = init.server_info.name
            tools = await session.list_tools()
            seen["tools"] = sorted(t.name for t in tools.tools)
            seen["search"] = text(await session.call_tool("search_memory", {"query": "lighthouse"}))
            seen["phrase"] = text(
                await session.call_tool("search_memory", {"query": '"harbour wall"', "limit": 5})
            )
            seen["day"] = text(await session.call_tool("read_day", {"day": "2024-02-18"}))
            seen["sources"] = text(await session.call_tool("list_sources", {}))
            errors = {}
            for name, args in [
                ("read_day", {"day": "yesterday"}),
                ("read_day", {}),
                ("search_memory", {"query": "x", "limit": 1000}),
                ("search_memory", {"query": "x", "source": "diary"}),
                ("search_memory", {"query": 42}),
                ("no_such_tool", {}),
            ]:
                try:
                    r = await session.call_tool(name, args)
                    errors[f"{name} {json.dumps(args)}"] = {"tool_error": r.is_error, "text": text(r)}
                except MCPError as e:
                    errors[f"{name} {json.dumps(args)}"] = {"code": e.code, "message": e.message}
            seen["errors"] = errors
            # Still answering after the bad calls.
            seen["after"] = text(await session.call_tool("list_sources", {}))
    print(json.dumps(seen))


asyncio.run(main(sys.argv[1], sys.argv[2]))
