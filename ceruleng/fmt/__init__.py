"""`ceruleng fmt`: the canonical layout of specs (printer: expression AST → text; layout: YAML round-trip)."""
