"""Reference data every installation needs (grades, pipelines, lead sources…), kept present.

Data migrations create it on a new database; the same functions run again after every
`migrate` (and after a test flush, which empties the tables but replays post_migrate), so the
rows are back whenever they are missing. Each function takes the app registry it is given
(historical models inside a migration, the real ones after migrate) and must be idempotent.

    register_defaults(ensure_grade_levels)      # from an app's AppConfig.ready()
"""

from __future__ import annotations

from collections.abc import Callable

_functions: list[Callable] = []


def register_defaults(function: Callable) -> None:
    if function not in _functions:
        _functions.append(function)


def ensure_all(apps) -> None:
    for function in _functions:
        function(apps)
