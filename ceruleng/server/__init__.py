"""The HTTP service (`ceruleng serve`): the same scoring and checking as the command line, over HTTP.

`registry` holds the compiled specs (reloaded on SIGHUP), `openapi` builds the API description from the published
JSON Schemas, `app` is the Starlette application, `run` starts it under uvicorn. Needs the `server` extra.
"""
