"""Stage 5, report: pure functions and streaming writers that turn diagnostics and results into text.

Input: `Diagnostic`s with their source files (for `check`), or `MemberResult`s (for `eval`). Output: text in the
documented formats. Reporters compute nothing about policy; they only lay out what earlier stages decided.
"""
