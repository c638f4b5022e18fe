"""`ceruleng diff`: what changed between two versions of a spec (specdiff), and what that does to members (impact)."""
