"""Stage 4, evaluate: a compiled spec and a member's records → results (`scorer`), as plain records (`results`)."""
