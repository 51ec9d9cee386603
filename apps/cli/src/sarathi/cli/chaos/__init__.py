"""Fault trials against `sarathi up` (`make chaos`, `python -m sarathi.cli.chaos`).

`trials` runs the kills, `system` drives one `sarathi up` (kill, wait for its restart, settle,
read both books), `findings` compares the books (pure), `tally` counts and prints (pure).
"""
