"""The RBM likelihoods through the workflow (conf/likelihood.yaml, workflow/rules/likelihood.smk): a comparison
RBM trained on the binarised digits and the tutorial's RBM reused, AIS against the exact log Z, the table."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import snakemake
from dltutorials.cli import one_line_errors
from dltutorials.config import ConfigError, compose
from dltutorials.data.download import DataError
from dltutorials.data.midi import load_tunes
from dltutorials.models.rbm import RBM
from dltutorials.models.rnnrbm import RNNRBM
from dltutorials.stages import likelihood
from dltutorials.training.layers import layer_dir, save_layer

pytestmark = pytest.mark.slow

MODELS = "likelihood_models=[rbm,rbm_cd1_h25,rbm_pcd,dbn_generative]"


@pytest.fixture(scope="module")
def likelihood_run(tiny_run):
    workdir, mirror_url = tiny_run
    args = ["--config", "preset=tiny", f"data_mirror={mirror_url}", MODELS]
    snakemake(workdir, "results/tiny/rbm_likelihood.csv", *args)
    return workdir, args


def test_the_table_has_a_row_per_rbm_with_ais_beside_the_exact_log_z(likelihood_run):
    workdir, _ = likelihood_run
    table = pd.read_csv(workdir / "results/tiny/rbm_likelihood.csv").set_index("model")
    assert list(table.index) == ["rbm", "rbm_cd1_h25", "rbm_pcd", "dbn_generative"]
    small, tutorial, dbn = table.loc["rbm_cd1_h25"], table.loc["rbm"], table.loc["dbn_generative"]
    assert (small.method, str(small.hidden_sizes), small.trained_on) == ("CD-1", "12", "mnist")
    assert small.k_schedule == "k = 1"
    assert small.program == ("rate 0.05, momentum 0.5 for 5 epochs, then 0.9, weight decay 0.0002, inputs binarised "
                             "afresh per minibatch, W ~ N(0, 0.01^2)")
    assert dbn.k_schedule == "k = min(25, ceil(e / 1)), rate / k; k = min(10, ceil(e / 10)), rate / k"
    assert dbn.program == f"{small.program}; {small.program}"
    assert (tutorial.method, str(tutorial.hidden_sizes), tutorial.trained_on) == ("PCD-15", "64", "mnist")
    assert list(table.log_prob) == ["exact given log Z", "exact given log Z", "exact given log Z", "lower bound"]
    # the DBN stacks its second RBM on rbm_cd25's run (the tiny preset's: 64 hidden, k rising every epoch)
    assert (dbn.method, dbn.hidden_sizes, dbn.trained_on) == ("CD-1..25/1-CD-1..10/10", "64-12", "mnist")
    assert (table.evaluated_on == "mnist_binarized").all() and (table.n_temperatures == 1000).all()
    # 12 hidden units: summed exactly, and AIS's own band holds it
    assert small.log_z_low <= small.exact_log_z <= small.log_z_high
    assert abs(small.log_z - small.exact_log_z) < 0.5
    # the exact average log p(v) of the test digits, from the layer's file with numpy: -F(v) - log Z
    saved = torch.load(workdir / "results/runs/tiny/rbm_cd1_h25/seed1234/layer1/layer.pt",
                       weights_only=True)["parameters"]
    w, b, c = (saved[name].double().numpy() for name in ("weight", "visible_bias", "hidden_bias"))
    v = np.load(workdir / "results/data/mnist_binarized/test.npz")["x"].astype(np.float64)
    minus_free_energy = v @ b + np.logaddexp(0, v @ w.T + c).sum(axis=1)
    assert small.exact_test_log_prob == pytest.approx(minus_free_energy.mean() - small.exact_log_z, abs=1e-3)
    # RAISE on the first 50 test digits, beside AIS and the exact sum on the same digits
    assert small.raise_digits == 50 and tutorial.raise_digits == 50 and dbn.raise_digits == 50
    assert small.ais_test_log_prob_subset == pytest.approx(minus_free_energy[:50].mean() - small.log_z, abs=1e-3)
    assert small.exact_test_log_prob_subset == pytest.approx(minus_free_energy[:50].mean() - small.exact_log_z,
                                                             abs=1e-3)
    assert abs(small.raise_test_log_prob - small.exact_test_log_prob_subset) < 1.0
    assert -784 * np.log(2) < tutorial.raise_test_log_prob < 0
    assert np.isnan(tutorial.exact_log_z), "64 hidden units are beyond the tiny preset's exact_max_hidden"
    # the DBN's top RBM (64-12) is summed exactly too: AIS from the base rates of the codes below it holds it
    assert dbn.log_z_low <= dbn.exact_log_z <= dbn.log_z_high
    # and RAISE on it, at one draw of the codes per digit from the posterior, within a nat of the exact bound on
    # those draws (the bound of the full row is on every test digit, from ten draws each)
    assert abs(dbn.raise_test_log_prob - dbn.exact_test_log_prob_subset) < 1.0
    assert dbn.ais_test_log_prob_subset - dbn.exact_test_log_prob_subset == pytest.approx(
        dbn.test_log_prob - dbn.exact_test_log_prob, abs=2e-4)
    for row in (small, tutorial, dbn):
        # a probability of a 784-pixel image: below 1, and above the uniform distribution's 2^-784
        assert -784 * np.log(2) < row.test_log_prob < 0 and -784 * np.log(2) < row.train_log_prob < 0
    # the tutorial's RBM is results/tiny/rbm.csv's run, measured where it lies rather than trained again
    assert (workdir / "results/runs/tiny/rbm/seed1234/likelihood.json").is_file()


def test_the_comparison_rbms_learn_from_binary_digits(likelihood_run):
    """The AIS paper's program binarises the grey levels afresh in every minibatch; Hinton's recipe (the DBN's)
    learns from the binarised digits, drawn once."""
    workdir, _ = likelihood_run
    config = (workdir / "results/runs/tiny/rbm_cd1_h25/seed1234/layer1/config.yaml").read_text()
    assert "name: mnist\n" in config and "binarize_input: true" in config
    config = (workdir / "results/runs/tiny/rbm_pcd/mnist_binarized/seed1234/layer1/config.yaml").read_text()
    assert "name: mnist_binarized" in config and "binarize_seed: 1234" in config
    x = np.load(workdir / "results/data/mnist_binarized/train.npz")["x"]
    assert set(np.unique(x)) == {0.0, 1.0}
    grey = np.load(workdir / "results/data/mnist/train.npz")["x"]
    assert abs(x.mean() - grey.mean()) < 0.002, "a pixel is 1 with its grey level as probability"


def test_an_ais_setting_reruns_the_likelihoods_only(likelihood_run):
    workdir, args = likelihood_run
    changed = snakemake(workdir, "results/tiny/rbm_likelihood.csv", "-n", "--quiet", "rules", *args,
                        "overrides=[ais.n_runs=50]")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", changed.stdout + changed.stderr, flags=re.M))
    assert counts == {"likelihood": "4", "likelihood_table": "1", "total": "5"}


def test_a_layer_that_is_not_an_rbm_is_refused(likelihood_run):
    workdir, _ = likelihood_run
    cfg = compose(["preset=tiny", f"paths.results_dir={workdir}/results"], "likelihood")
    with pytest.raises(ConfigError, match="layer1 is a DenoisingAutoencoder, not an RBM"):
        likelihood.measure(cfg, workdir / "results/runs/tiny/da_corruption0/seed1234")


def test_grey_levels_are_refused(likelihood_run):
    workdir, _ = likelihood_run
    with pytest.raises(DataError, match="pixels are not all 0 or 1"):
        likelihood.binary_split(workdir / "results/data/mnist", "test")


def test_the_likelihood_file_says_what_was_measured(likelihood_run):
    workdir, _ = likelihood_run
    row = json.loads((workdir / "results/runs/tiny/rbm_cd1_h25/seed1234/likelihood.json").read_text())
    assert row["n_runs"] == 100 and row["epochs"] == 1 and row["preset"] == "tiny"
    assert row["ais_seconds"] > 0 and row["exact_seconds"] >= 0 and row["device"] == "cpu"


@pytest.mark.parametrize("override, message", [
    ("ais.schedule=[[0.5,0.1]]", "ais.schedule ends at beta=0.5"),
    ("ais.schedule=[[0.5,0.6]]", r"ais.schedule.0 \[0.5, 0.6\]"),
    ("ais.n_runs=1", "ais.n_runs must be at least 2"),
    ("exact_max_hidden=40", "exact_max_hidden must be an integer from 0 to 26"),
    ("ais.base_rate_smoothing=0", "ais.base_rate_smoothing must be a number > 0"),
    ("reverse_ais.n_digits=0", "reverse_ais.n_digits"),
    ("+reported.rbm_cd1=-125.5", r"reported.rbm_cd1 must be \{test_log_prob: <nats>, source: <where it was read>\}"),
    ("rnnrbm.accuracy.burn_in=400", r"rnnrbm.accuracy.burn_in \(400\) must be below n_steps \(400\)"),
    ("rnnrbm.accuracy.starts=[zeros,ones]", "rnnrbm.accuracy.starts must be distinct kinds among zeros, previous"),
    ("rnnrbm.accuracy.n_chains=1", "rnnrbm.accuracy.n_chains must be an integer >= 2"),
])
def test_bad_settings_are_named(override, message):
    from dltutorials.config import validate_likelihood

    with pytest.raises(ConfigError, match=message):
        validate_likelihood(compose([override], "likelihood"))


def test_the_per_epoch_figure_reads_the_kept_epochs(tiny_run, tmp_path):
    """In a folder of its own (the tiny run's data linked in): the tiny run's figures are the default target's."""
    workdir, mirror_url = tiny_run
    (tmp_path / "results").mkdir()
    (tmp_path / "results/data").symlink_to(workdir / "results/data")
    snakemake(tmp_path, "results/tiny/figures/rbm_likelihood_epochs.png", "--config", "preset=tiny",
              f"data_mirror={mirror_url}")
    assert (tmp_path / "results/tiny/figures/rbm_likelihood_epochs.png").stat().st_size > 10_000
    workdir = tmp_path
    for model, method in (("rbm_cd1", "CD-1"), ("rbm_pcd/mnist_binarized", "PCD-1"), ("rbm_cd25", "CD-1..25/1")):
        run = workdir / f"results/runs/tiny/{model}/seed1234"
        assert sorted(path.name for path in (run / "layer1/epochs").iterdir()) == ["epoch1.pt", "epoch2.pt"]
        curve = pd.read_csv(run / "likelihood_epochs.csv")
        assert list(curve.epoch) == [1, 2] and (curve.method == method).all()
        assert (curve.n_temperatures == 100).all() and (curve.test_log_prob < 0).all()
        # the last epoch's parameters are the layer's own
        last, layer = (torch.load(run / "layer1" / name, weights_only=True)["parameters"]
                       for name in ("epochs/epoch2.pt", "layer.pt"))
        assert all(torch.equal(last[key], layer[key]) for key in layer)


def test_the_rnnrbm_log_likelihood_per_frame_agrees_with_the_exact_one(tiny_run, tmp_path):
    """A 10-hidden-unit RNN-RBM (in a folder of its own, the tiny run's data linked in), so that every frame's
    RBM is summed exactly beside its AIS estimate."""
    workdir, mirror_url = tiny_run
    (tmp_path / "results").mkdir()
    (tmp_path / "results/data").symlink_to(workdir / "results/data")
    snakemake(tmp_path, "results/tiny/rnnrbm_likelihood.csv", "--config", "preset=tiny", f"data_mirror={mirror_url}",
              "rnnrbm_variants=[tutorial]", "rnnrbm_overrides=[model.module.n_hidden=10]",
              "overrides=[rnnrbm.accuracy.n_steps=300,rnnrbm.accuracy.burn_in=50,rnnrbm.accuracy.n_chains=4]")
    row = pd.read_csv(tmp_path / "results/tiny/rnnrbm_likelihood.csv").iloc[0]
    assert (row.model, row.variant, row.n_hidden, row.valid_tunes, row.test_tunes) == ("rnnrbm", "tutorial", 10, 3, 3)
    tunes = np.load(workdir / "results/data/nottingham/valid.npz")["offsets"]
    assert row.valid_frames == tunes[3] - tunes[0]
    for split in ("valid", "test"):
        estimate, exact = row[f"{split}_log_likelihood_per_frame"], row[f"{split}_exact_log_likelihood_per_frame"]
        # 88 notes a frame: a probability below 1 and above the uniform distribution's 2^-88
        assert -88 * np.log(2) < exact < 0
        assert estimate == pytest.approx(exact, abs=0.05)
    assert row.paper_log_likelihood_per_frame == -2.39
    # the expected accuracy on the same frames: each frame's marginals summed exactly over its RBM's 2^10 hidden
    # states, q = sum_h P(h) sigm(b_v(t) + h W) with P(h) ∝ exp(h.c(t)) prod_i (1 + exp(b_v(t) + h W)_i)
    model = RNNRBM.load_from_checkpoint(tmp_path / "results/runs/tiny/rnnrbm/nottingham/tutorial/seed1234/model.ckpt",
                                        map_location="cpu")
    hidden = torch.tensor(list(itertools.product([0.0, 1.0], repeat=10)), dtype=torch.float64)
    weight = model.weight.detach().double()
    for split in ("valid", "test"):
        sum_qv = sum_q = sum_v = 0.0
        for tune in load_tunes(workdir / f"results/data/nottingham/{split}.npz")[:3]:
            v = torch.from_numpy(tune.astype(np.float32))
            with torch.no_grad():
                _, bv_t, bh_t = (part.double() for part in model.recurrence(v))
            visible = bv_t[:, None, :] + (hidden @ weight)[None]  # (T, 2^10, 88)
            log_p_h = bh_t @ hidden.T + torch.nn.functional.softplus(visible).sum(dim=2)
            q = (torch.softmax(log_p_h, dim=1)[:, :, None] * torch.sigmoid(visible)).sum(dim=1)
            v = v.double()
            sum_qv, sum_q, sum_v = sum_qv + float((q * v).sum()), sum_q + float(q.sum()), sum_v + float(v.sum())
        exact = sum_qv / (sum_q + sum_v - sum_qv)
        # from AIS's weighted runs, and the Gibbs chains that check it: long enough here to agree from every start
        assert abs(row[f"{split}_expected_accuracy"] - exact) < 4 * row[f"{split}_expected_accuracy_error"] + 0.002
        assert 1 < row[f"{split}_effective_runs_per_frame"] <= row.n_runs
        assert row[f"{split}_starts_agree"] and row[f"{split}_notes_lost_by_transposition"] == 0
        for start in ("zeros", "previous", "marginals"):
            assert row[f"{split}_expected_accuracy_from_{start}"] == pytest.approx(exact, abs=0.01)
    assert (row.accuracy_chains, row.accuracy_steps, row.accuracy_burn_in) == (4, 300, 50)


# -- the stage's refusals, each in one line naming what is missing or wrong (no training, no workflow) --------
def trained_layer(run_dir, n_visible: int) -> None:
    """layer1 of a one-RBM run as the pretraining stage leaves it: its config.yaml, then layer.pt."""
    folder = layer_dir(run_dir, 1)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("model: {name: rbm_cd1_h25, hidden_sizes: [3], pretrain: {}}\nseed: 1234\n"
                                        f"preset_name: tiny\ndata: {{name: mnist_binarized}}\n"
                                        f"paths: {{results_dir: {run_dir.parent}}}\n")
    save_layer(folder / "layer.pt", RBM(n_visible, 3, learning_rate=0.1),
               {"class": "RBM", "epochs": 1, "settings": {"cd_k": 1, "persistent": False}})


def binary_digits(data_dir, n_pixels: int) -> None:
    """Prepared train and test splits of data=mnist_binarized, each 5 'digits' of n_pixels 0/1 pixels."""
    folder = data_dir / "mnist_binarized"
    folder.mkdir(parents=True)
    generator = np.random.default_rng(0)
    for split in ("train", "test"):
        np.savez(folder / f"{split}.npz", x=generator.integers(0, 2, (5, n_pixels)).astype(np.float32),
                 y=np.zeros(5, dtype=np.int64))


def refusal(tmp_path, action, run_dir) -> str:
    """The stage on ``run_dir`` as its command line runs it (``run`` inside ``one_line_errors``): it must exit
    non-zero with one line and write nothing. Returns the line."""
    cfg = compose(["preset=tiny", f"paths.data_dir={tmp_path / 'data'}"], "likelihood")
    with pytest.raises(SystemExit) as exit_:
        with one_line_errors():
            likelihood.run(cfg, None, action, run_dir)
    line = exit_.value.code
    assert isinstance(line, str) and "\n" not in line, "sys.exit(message): status 1, the message on stderr"
    written = {path.name for path in run_dir.rglob("*")} if run_dir.exists() else set()
    assert not written & {"likelihood.json", "likelihood_epochs.csv", "likelihood.yaml"}, written
    return line


def test_an_rbm_whose_visible_units_do_not_match_the_data_is_refused(tmp_path):
    """Through the stage's own command line: exit status 1, one line on stderr naming the layer's file."""
    binary_digits(tmp_path / "data", n_pixels=6)
    trained_layer(tmp_path / "run", n_visible=4)
    expected = (f"error: {tmp_path / 'run/layer1/layer.pt'}: the RBM has 4 visible units, what it models "
                "(data=mnist_binarized or the layer below) 6")
    assert refusal(tmp_path, "measure", tmp_path / "run") == expected
    result = subprocess.run([sys.executable, "-m", "dltutorials.stages.likelihood", "measure", str(tmp_path / "run"),
                             "preset=tiny", f"paths.data_dir={tmp_path / 'data'}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.strip()) == (1, expected), result.stdout[-2000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "run"], "nothing written where it ran"


def test_a_run_without_layer1_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    line = refusal(tmp_path, "measure", tmp_path / "run")
    assert line == (f"error: {tmp_path / 'run/layer1'}: no trained layer (no config.yaml); measure a run of an RBM "
                    "or a DBN once its layers are trained (the workflow trains and measures the configured ones: "
                    "snakemake --cores all results/rbm_likelihood.csv)"), "a target that exists, not the run's"


def test_a_run_without_per_epoch_parameters_is_refused(tmp_path):
    trained_layer(tmp_path / "run", n_visible=6)
    line = refusal(tmp_path, "epochs", tmp_path / "run")
    assert line == (f"error: {tmp_path / 'run/layer1/epochs'}: no per-epoch parameters; train the layer with "
                    "model.pretrain.keep_epochs=true")


def test_an_rnnrbm_run_without_metrics_is_refused(tmp_path):
    """An RNN-RBM run that has not finished (its config.yaml, no metrics.json yet) is not measured."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("seed: 1234\n")
    line = refusal(tmp_path, "frames", tmp_path / "run")
    assert line == (f"error: {tmp_path / 'run'}: no finished RNN-RBM run (metrics.json); measure a run once it has "
                    "finished (the workflow trains and measures the configured ones: snakemake --cores all "
                    "results/rnnrbm_likelihood.csv)"), "a target that exists, not the run's"
