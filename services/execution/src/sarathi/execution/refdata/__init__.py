"""The instrument sync: Dhan's detailed scrip master → `refdata.instrument` and `refdata.derivative`.

Download (with progress), parse by header name, validate everything, and only then swap the
tables in one transaction; a bad file changes nothing and says why. Run by
`sarathi instruments sync` (`python -m sarathi.execution.refdata sync`) and daily by the service.
"""
