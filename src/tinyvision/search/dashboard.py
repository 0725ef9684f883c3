"""Watch a study in the browser: optuna-dashboard served on 127.0.0.1."""

from __future__ import annotations

__all__ = ["serve_dashboard"]


def serve_dashboard(storage: str, port: int = 8080) -> None:
    """Serve optuna-dashboard for the studies in storage on http://127.0.0.1:port until stopped.

    storage: a database URL (sqlite:///RUN/study.db, postgresql://...) or a run folder of
        `tinyvision tune` (its study.db)
    raises FileNotFoundError for a run folder or SQLite file that does not exist
    """
    from pathlib import Path

    from optuna_dashboard import run_server

    from tinyvision.search.study import STUDY_DB, make_storage

    if "://" not in storage:
        path = Path(storage)
        path = path / STUDY_DB if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(
                f"{storage} is neither a database URL nor a run folder with {STUDY_DB}; give "
                "e.g. sqlite:///runs/tune-.../study.db or postgresql://user:pw@host/db"
            )
        storage = f"sqlite:///{path.resolve()}"
    elif (
        storage.startswith("sqlite:///") and not Path(storage.removeprefix("sqlite:///")).is_file()
    ):
        raise FileNotFoundError(f"{storage}: no such SQLite file; the dashboard would create it")
    # Bound to the loopback interface only: the dashboard can change studies and has no login.
    run_server(make_storage(storage), host="127.0.0.1", port=port)
