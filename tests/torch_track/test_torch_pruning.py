"""The PyTorch track reports each epoch's validation accuracy to a search trial through a
Lightning callback, and stops when the trial is pruned."""

import pytest

pytest.importorskip("optuna", reason="the hyperparameter search needs: pip install -e '.[search]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

import optuna  # noqa: E402

from tinyvision import registry  # noqa: E402
from tinyvision.config import TrainConfig, resolve_config  # noqa: E402
from tinyvision.pipeline import fit  # noqa: E402


class _PruneAfter:
    """A stand-in for an Optuna trial that asks to prune after a given epoch."""

    def __init__(self, epoch):
        self.epoch, self.reports = epoch, []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.reports[-1][0] >= self.epoch


def _setup():
    config = resolve_config(
        TrainConfig(model="torch-cnn", channels=(8, 16), epochs=3, num_training=200, batch_size=50)
    )
    spec = registry.get("torch-cnn")
    return config, spec, spec.task.prepare(config, spec, False)


def test_torch_cnn_reports_each_epochs_val_accuracy_until_pruned():
    config, spec, prepared = _setup()
    trial = _PruneAfter(epoch=2)
    with pytest.raises(optuna.TrialPruned, match="after epoch 2"):
        fit(spec, spec.build(config, prepared), config, prepared, None, False, trial=trial)
    assert [step for step, _ in trial.reports] == [1, 2]
    # The reported values are the accuracies Lightning's history records for those epochs.
    history = fit(spec, spec.build(config, prepared), config, prepared, None, False)
    assert [v for _, v in trial.reports] == pytest.approx(history["val_acc_history"][:2])
