"""Small Dhan detailed instrument masters for tests, in the 2026 shape (REFERENCE §9.3–9.4).

`SAMPLE_ROWS` are the live sample rows of §9.4 (the `...` of the shortened ones filled with the
filler values of the one full sample); `sample_master()` adds a header, other instruments the sim
ignores and rows it must skip.
"""

from __future__ import annotations

from pathlib import Path

from sarathi.sim.master_csv import DETAILED_HEADER

HEADER_2026 = ",".join(DETAILED_HEADER) + ","  # the trailing empty column

_FILLER = "N,N,N,NA,A,0,0,0,0,0,0,0"  # BRACKET_FLAG … MTF_LEVERAGE

NIFTY_INDEX = (
    f"NSE,I,13,NA,INDEX,13,NIFTY,NIFTY,Nifty 50,INDEX,NA,1.0,0001-01-01,,XX,0.0500,N,{_FILLER},0,0,0,"
)
NIFTY_29150_CE = (
    "NSE,D,35084,NA,OPTIDX,26000,NIFTY,NIFTY-Sep2026-29150-CE,NIFTY 29 SEP 29150 CALL,OP,NA,65.0,2026-09-29,"
    f"29150.00000,CE,5.0000,M,{_FILLER},20.1000,0.0500,1756,"
)
NIFTY_23950_CE = (
    "NSE,D,47317,NA,OPTIDX,26000,NIFTY,NIFTY-Sep2026-23950-CE,NIFTY 15 SEP 23950 CALL,OP,NA,65.0,2026-09-15,"
    f"23950.00000,CE,5.0000,W,{_FILLER},310.4500,0.0500,1756,"
)
BANKNIFTY_56000_CE = (
    "NSE,D,69787,NA,OPTIDX,26009,BANKNIFTY,BANKNIFTY-Sep2026-56000-CE,BANKNIFTY 29 SEP 56000 CALL,OP,NA,"
    f"30.0,2026-09-29,56000.00000,CE,5.0000,M,{_FILLER},512.3000,0.0500,600,"
)
SENSEX_74300_CE = (
    "BSE,D,869699,NA,OPTIDX,1,SENSEX,BSXOPT,SENSEX 17 SEP 74300 CALL,OPTIDX,NA,20.0,2026-09-17,74300.00000,"
    f"CE,5.0000,W,{_FILLER},2210.0500,0.0500,1000,"
)
NIFTY_FUTURE = (
    "NSE,D,68407,NA,FUTIDX,26000,NIFTY,NIFTY-Sep2026-FUT,NIFTY SEP FUT,FUT,NA,65.0,2026-09-29,-0.01000,XX,"
    f"10.0000,M,{_FILLER},26500.0000,21700.0000,1756,"
)
SAMPLE_ROWS = (NIFTY_INDEX, NIFTY_29150_CE, NIFTY_23950_CE, BANKNIFTY_56000_CE, SENSEX_74300_CE, NIFTY_FUTURE)

VIX_INDEX = (
    "NSE,I,21,NA,INDEX,21,INDIA VIX,INDIA VIX,India VIX,INDEX,NA,1.0,0001-01-01,,XX,0.0500,N,"
    f"{_FILLER},0,0,0,"
)
EQUITY = (
    "NSE,E,2885,INE002A01018,EQUITY,2885,RELIANCE,RELIANCE,Reliance Industries,ES,EQ,1.0,0001-01-01,-0.01000,"
    "XX,10.0000,NA,Y,Y,N,NA,A,20,1.5,0.5,20,3,1,4.5,1540.2000,1260.2000,0,"
)
BAD_STRIKE = (  # a NIFTY option whose strike is not a number
    "NSE,D,47318,NA,OPTIDX,26000,NIFTY,NIFTY-Sep2026-24000-CE,NIFTY 15 SEP 24000 CALL,OP,NA,65.0,2026-09-15,"
    f"24k,CE,5.0000,W,{_FILLER},280.0000,0.0500,1756,"
)
TRUNCATED = "NSE,D,47319,NA,OPTIDX,26000,NIFTY,NIFTY-Sep2026-24050-CE"  # cut short: no lot, expiry, …


def master_text(*rows: str, header: str = HEADER_2026) -> str:
    return "\n".join((header, *rows)) + "\n"


def sample_master() -> str:
    """The §9.4 samples, INDIA VIX, an equity, and two bad NIFTY option rows (no BANKNIFTY/SENSEX index)."""
    return master_text(*SAMPLE_ROWS, VIX_INDEX, EQUITY, BAD_STRIKE, TRUNCATED)


def write_master(path: Path, text: str | None = None) -> Path:
    path.write_text(sample_master() if text is None else text, encoding="utf-8")
    return path
