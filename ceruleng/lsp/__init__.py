"""The language server for spec files (`ceruleng lsp`): the checker's diagnostics and names, in an editor.

Stages, one module each: `positions` (spans ↔ editor ranges), `schemapath` (what the JSON Schema says about a place
in a spec), `analysis` (one spec text → what the features need, from `ceruleng.engine.analyze_text`), `features`
(completion, hover, definition, quick fixes, symbols — pure functions of an analysis) and `server` (pygls wiring,
debouncing, UTF-16). Only `server` imports pygls, so everything else is tested without a client.
"""
