"""The back end: everything that writes Python — a checked spec → one generated module, and record checkers.

`names` owns every generated identifier; `writer` writes lines with the spec position each came from; `expressions`
emits one expression; `plans` and `functions` assemble the scoring functions; `module` builds the compiled spec;
`records` generates the record checkers. Nothing outside this package writes Python source; what that source calls
at run time lives in `ceruleng.runtime`.
"""
