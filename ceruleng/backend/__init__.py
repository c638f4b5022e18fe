"""The back end: everything that writes Python — checked rules → one generated module per spec, and record checkers.

Nothing outside this package writes Python source; what that source calls at run time lives in `ceruleng.runtime`.
"""
