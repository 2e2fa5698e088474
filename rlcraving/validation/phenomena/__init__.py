"""The phenomena, one module each, registered in report order by importing them here.

Adding a phenomenon is adding a module that registers a `Phenomenon` and naming it in
`REPORT_ORDER`.
"""

import importlib

REPORT_ORDER = (
    "acquisition",
    "escalation",
    "dose_regulation",
    "extinction",
    "reinstatement",
    "combined_triggers",
    "renewal",
    "spontaneous_recovery",
    "baclofen_progressive_ratio",
    "sedation_pattern",
    "baclofen_relapse",
    "kor_knockout",
    "kor_escalation",
    "incubation",
    "individual_differences",
    "shoptaw_2003",
    "kahn_2009",
    "headline_ppo",
    "default_sb3",
    "headline_sucrose",
)

for _name in REPORT_ORDER:
    importlib.import_module(f"{__name__}.{_name}")
