"""The RNN-RBM's stage (stages/music.py): its config checks and a run from the shared MIDI copy."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

from dltutorials.config import ConfigError, compose, validate, validate_music
from dltutorials.data.tunes import TuneDataModule
from dltutorials.fingerprints import music_pretraining_settings
from dltutorials.models.rbm import RBM
from dltutorials.models.rnnrbm import RNNRBM
from dltutorials.stages.music import evaluate_split, pretrained_rbm, run
from dltutorials.stages.music_data import download_piano_rolls, prepare_piano_rolls
from dltutorials.stages.music_pretrain import rbm_file
from dltutorials.training.layers import save_layer


@pytest.mark.parametrize("override, message", [
    ("model.module.learning_rate=0", "model.module.learning_rate must be > 0, got 0"),
    ("model.module.cd_k=1.5", "model.module.cd_k must be an integer, got 1.5"),
    ("model.module.n_hidden_recurrent=0", "model.module.n_hidden_recurrent must be a positive integer, got 0"),
    ("model.module.momentum=1.0", "model.module.momentum must be in [0, 1), got 1.0"),
    ("model.module.nesterov=true", "model.module.nesterov needs a momentum > 0"),
    ("model.module.gradient_clip=-1", "model.module.gradient_clip must be a norm > 0 or null, got -1"),
    ("+model.module.dropout=0.5", "model.module.dropout is not a parameter of RNNRBM"),
    ("model.epochs=0", "model.epochs must be a positive integer, got 0"),
    ("generation.n_frames=many", "generation.n_frames must be a positive integer, got 'many'"),
    ("evaluation.gibbs_steps=0", "evaluation.gibbs_steps must be a positive integer, got 0"),
    ("data.note_range=[109,21]", "data.note_range must be [low, high) MIDI notes"),
    ("data.dt=0", "data.dt must be a frame length in seconds > 0, got 0"),
    ("data.frames_per_quarter_note=0", "data.frames_per_quarter_note must be null (frames of dt seconds) or a whole"),
    ("data.minor_key=B", "data.minor_key must be one of ['A', 'C'] (where a minor tune is moved), got 'B'"),
    ("data=mnist", "data=mnist is not a piano-roll dataset"),
    ("trainer.precision=16-mixed", "trainer.precision must be 32-true"),
])
def test_bad_settings_are_refused_naming_the_key(tmp_path, override, message):
    cfg = compose([override], config_name="rnnrbm")
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists(), "nothing ran"


def test_the_image_models_refuse_a_piano_roll_dataset():
    with pytest.raises(ConfigError, match="data=nottingham is a piano_roll dataset: only the RNN-RBM"):
        validate(compose(["model=mlp", "data=nottingham"]))


def test_the_stage_reports_a_bad_setting_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dltutorials.stages.music", "model.module.cd_k=0",
                             f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "config error: model.module.cd_k must be > 0, got 0"


@pytest.fixture(scope="module")
def nottingham(tmp_path_factory, shared_data):
    data_dir = tmp_path_factory.mktemp("data")
    cfg = compose(["data=nottingham", f"paths.data_dir={data_dir}", f"data.mirror={shared_data}"])
    download_piano_rolls(cfg.data)
    prepare_piano_rolls(cfg.data)
    return data_dir


def test_a_tiny_run_trains_evaluates_and_generates(tmp_path, nottingham):
    cfg = compose(["preset=tiny", f"paths.data_dir={nottingham}", "trainer.enable_progress_bar=false"],
                  config_name="rnnrbm")
    row = run(cfg, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(row))
    epochs = pd.read_csv(tmp_path / "epochs.csv")
    assert list(epochs["epoch"]) == [1, 2] and list(epochs["tutorial_monitor"]) == [-15.0308940028, -10.4892606673]
    assert row["train_monitor"] == epochs["monitor"].iloc[-1]
    assert epochs["monitor"].iloc[1] > epochs["monitor"].iloc[0], "training improves the monitor"
    # the tiny preset evaluates the first 10 tunes of each split, every frame of them
    valid = np.load(nottingham / "nottingham" / "valid.npz")["offsets"]
    assert row["valid_frames"] == valid[10]
    assert row["valid_subsequences"] == sum(-(-int(n) // 100) for n in np.diff(valid[:11]))
    assert np.isfinite([row["valid_monitor"], row["test_monitor"]]).all()
    assert {"sample1.mid", "sample2.mid", "samples.npz", "model.ckpt", "config.yaml"} <= \
        {p.name for p in tmp_path.iterdir()}


# -- the frame-level accuracy, on a roll written out here ------------------------------------------------------
# Two tunes of 4 notes. The model below predicts notes 0 and 1 in every frame, and nothing else:
#                 frame         tp  fp  fn
#   tune 1        1 1 0 0        2   0   0
#                 1 0 1 0        1   1   1
#                 0 0 0 1        0   2   1
#   tune 2        0 1 0 0        1   1   0
#                 1 1 1 1        2   0   2
#   total                        6   4   4      ACC = 6 / (6 + 4 + 4) = 3/7
TUNES = [torch.tensor([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.float32),
         torch.tensor([[0, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)]


def predicting_notes_0_and_1() -> RNNRBM:
    """An RNN-RBM whose every prediction is notes 0 and 1 on, 2 and 3 off: no weights, visible biases of +-1e4
    (sigmoid 1 or 0 exactly, so every Gibbs draw is certain), whatever the past."""
    model = RNNRBM(n_visible=4, n_hidden=3, n_hidden_recurrent=2, sequence_length=2)
    with torch.no_grad():
        model.weight.zero_()
        model.W_uv.zero_()
        model.visible_bias.copy_(torch.tensor([1e4, 1e4, -1e4, -1e4]))
    return model


def test_the_frame_accuracy_is_tp_over_tp_fp_fn_summed_over_every_frame():
    """ACC = TP / (TP + FP + FN) with the counts summed over the frames of every tune of the split (Bay et al.
    2009), not a mean of per-frame (0.467) or per-tune (0.4375) accuracies, nor TP / (TP + FP) (0.6)."""
    model = predicting_notes_0_and_1()
    counts = [{key: model.evaluate(tune, gibbs_steps=3)[key] for key in ("tp", "fp", "fn")} for tune in TUNES]
    assert counts == [{"tp": 3, "fp": 3, "fn": 2}, {"tp": 3, "fp": 1, "fn": 2}]
    result = evaluate_split(model, TUNES, gibbs_steps=3)
    # sequence_length 2: the first tune is cut into 2 + 1 frames, the second is one piece
    assert (result["subsequences"], result["frames"]) == (3, 5)
    assert result["accuracy"] == pytest.approx(6 / 14, abs=1e-12)
    assert np.isfinite(result["monitor"])


# -- training: the tunes shuffled every epoch --------------------------------------------------------------
def write_prepared_split(path, tunes: list[np.ndarray]) -> None:
    """A split as data/midi.py writes it (the keys TuneDataModule reads): frames and offsets."""
    offsets = np.cumsum([0, *(len(tune) for tune in tunes)])
    np.savez_compressed(path, frames=np.concatenate(tunes), transposed=np.concatenate(tunes), offsets=offsets)


def test_the_tunes_are_shuffled_every_epoch(tmp_path):
    """As the tutorial's train(): each epoch walks every tune once, in a new random order (from the seeded
    generator: the same orders again with the same seed). Each tune here has its own length, 1 to 6 frames."""
    tunes = [np.eye(4, dtype=np.uint8)[np.arange(n) % 4] for n in range(1, 7)]
    write_prepared_split(tmp_path / "train.npz", tunes)

    def orders(seed: int) -> list[tuple[int, ...]]:
        L.seed_everything(seed, verbose=False)
        model = RNNRBM(n_visible=4, n_hidden=3, n_hidden_recurrent=2, cd_k=1)
        seen = []
        model.training_step = lambda tune, batch_idx: seen.append(len(tune))  # the tune, as training gets it
        trainer = L.Trainer(max_epochs=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(model, datamodule=TuneDataModule(tmp_path))
        return [tuple(seen[i:i + 6]) for i in range(0, len(seen), 6)]

    epochs = orders(seed=3)
    assert len(epochs) == 4 and all(sorted(order) == [1, 2, 3, 4, 5, 6] for order in epochs), epochs
    assert len(set(epochs)) == 4 and (1, 2, 3, 4, 5, 6) not in epochs, f"not shuffled every epoch: {epochs}"
    assert orders(seed=3) == epochs


# -- the pretrained RBM a run starts from ----------------------------------------------------------------
def test_a_pretrained_rbm_made_with_other_settings_is_refused(tmp_path):
    """rnnrbm_variant=pretrained starts from run_dir/rbm/layer.pt: one pretrained with another learning rate or
    seed is refused naming what differs, before any training; the RBM of these very settings is taken."""
    overrides = ["preset=tiny", "rnnrbm_variant=pretrained", f"paths.data_dir={tmp_path / 'no_data'}"]
    plain = validate_music(compose(overrides, config_name="rnnrbm"))
    other = validate_music(compose([*overrides, "model.pretrain_rbm.learning_rate=0.02", "seed=7"],
                                   config_name="rnnrbm"))
    rbm = RBM(88, plain["model"]["module"]["n_hidden"], learning_rate=0.01)
    run_dir = tmp_path / "run"
    save_layer(rbm_file(run_dir), rbm, {"class": "RBM", "pretrain_seconds": 1.0,
                                        "fingerprint": music_pretraining_settings(other)})
    with pytest.raises(ConfigError, match=re.escape(f"{rbm_file(run_dir)} was pretrained with other settings "
                                                    "(pretrain_rbm.learning_rate, seed differ); pretrain again")):
        run(compose(overrides, config_name="rnnrbm"), run_dir)
    assert sorted(path.name for path in run_dir.iterdir()) == ["rbm"], "nothing trained or written"

    save_layer(rbm_file(run_dir), rbm, {"class": "RBM", "pretrain_seconds": 1.0,
                                        "fingerprint": music_pretraining_settings(plain)})
    assert torch.equal(pretrained_rbm(plain, run_dir).weight, rbm.weight.detach())


def test_each_data_stage_refuses_the_other_kind_naming_the_stage_to_use(tmp_path):
    """Piano rolls are stages.music_data's, images stages.data's (so the image results do not depend on MIDI code)."""
    from dltutorials.stages import music_data
    from dltutorials.stages.data import prepare_dataset

    with pytest.raises(ConfigError, match=re.escape("data=nottingham is a piano-roll dataset: "
                                                    "python -m dltutorials.stages.music_data prepare data=nottingham")):
        prepare_dataset(compose(["data=nottingham", f"paths.data_dir={tmp_path}"]))
    with pytest.raises(ConfigError, match=re.escape("data=mnist is not a piano-roll dataset: "
                                                    "python -m dltutorials.stages.data download data=mnist")):
        music_data.run(compose(["data=mnist", f"paths.data_dir={tmp_path}"]), None, "download")
    assert not any(tmp_path.iterdir()), "nothing written"
