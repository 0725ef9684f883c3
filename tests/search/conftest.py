"""The search tests need the optional `search` extra (Optuna); without it they are skipped."""

import pytest

pytest.importorskip("optuna", reason="the hyperparameter search needs: pip install -e '.[search]'")
