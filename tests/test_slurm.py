"""The workflow on a real SLURM cluster through workflow/profiles/slurm (snakemake-executor-plugin-slurm).

The cluster is one node on this machine, started by the module's fixture (tests/slurm_cluster.py:
Debian's SLURM and MUNGE, every file in a temporary folder) and stopped by process id when the module
ends, passed or failed. The tiny preset's DBN runs through the SLURM profile and, meanwhile, on this
machine in another folder: every training, pretraining and encoding job must be a SLURM job (its id in
the executor's output, its own SLURM log, a COMPLETED line in SLURM's job-completion log), the rest must
not, and the table must be the local run's. Then a fine-tuning job that fails under SLURM fails the
workflow, naming its logs and leaving nothing half-made, and the rerun after the fix redoes that job only.
Each SLURM job parses the workflow twice (the executor's job step, then srun's), and the executor looks
at its jobs 1, 12, 33, 64 ... seconds after each submission: a few minutes on 2 cores.
Two quick checks need no cluster: which rules are local, and which jobs the GPU switch gives a GPU.

.ci/run installs the Debian packages; elsewhere the fixture installs them when it can (root, apt-get)
and otherwise skips, saying why; in CI it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

import slurm_cluster
from conftest import SNAKEMAKE
from dltutorials.config import PROJECT_ROOT, compose

pytestmark = pytest.mark.slurm

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PROFILE = PROJECT_ROOT / "workflow" / "profiles" / "slurm"
TARGET = "results/tiny/dbn.csv"
RUN_DIR = "results/runs/tiny/dbn/seed1234"
# Seconds a workflow may take (the tiny DBN takes 2 to 6 minutes under SLURM here); the executor ignores
# SIGTERM while it waits for its jobs, so a run past it is interrupted with SIGINT, which cancels them.
WORKFLOW_TIMEOUT = 900
# A setting the DAG accepts that only fine-tuning reads, and cannot use: the prepared data's folder (the layers'
# fingerprints do not name it, so they are not redone; an unknown key would be refused before any job).
BAD_FINETUNING = "data.datamodule.data_dir=/nonexistent/mnist"
# Columns that hold where and how long a run ran, not what it computed.
CIRCUMSTANCES = re.compile(r"seconds|^host|^git|^date|^time|^started|^finished")


def dbn_layers() -> int:
    return len(compose(["model=dbn", "preset=tiny"]).model.hidden_sizes)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node SLURM cluster on this machine, stopped by process id when the module ends."""
    reason = slurm_cluster.install_packages()
    if reason:
        pytest.fail(f"CI: {reason} (.ci/run installs them)") if CI else pytest.skip(reason)
    if os.geteuid() != 0:
        message = "the one-node SLURM cluster runs its daemons as root (SlurmUser=root): run the tests as root"
        pytest.fail(message) if CI else pytest.skip(message)
    cluster = slurm_cluster.SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def site_profile(tmp_path_factory):
    """What a user's own profile says about their cluster (--profile), here about the test's cluster:
    no slurmdbd, so job states come from squeue (sacct would fail and the executor wait forever), checked
    a second after a submission; the SLURM logs of successful jobs kept. No account: the executor tries to
    guess one, fails, and submits without (its `no-account` setting is not read in 2.8.0)."""
    folder = tmp_path_factory.mktemp("site_profile")
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "slurm-status-command": "squeue",
        "slurm-init-seconds-before-status-checks": 1,
        "slurm-keep-successful-logs": True,
    }))
    return folder


def run_on_slurm(cluster, site_profile, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """The README's SLURM command in ``workdir``: the partition on the command line, after the targets
    (--default-resources takes every word that follows it)."""
    command = ["timeout", "-s", "INT", "-k", "60", str(WORKFLOW_TIMEOUT), *SNAKEMAKE[:-2],
               "--directory", str(workdir), "--workflow-profile", str(PROFILE), "--profile", str(site_profile),
               *args, "--default-resources", f"slurm_partition={slurm_cluster.PARTITION}"]
    result = subprocess.run(command, env=cluster.env, capture_output=True, text=True, timeout=WORKFLOW_TIMEOUT + 120)
    assert result.returncode != 124, "the workflow did not finish in time:\n" + result.stderr[-3000:] + cluster.logs()
    return result


def submissions(output: str) -> dict[str, tuple[str, Path]]:
    """SLURM job id -> (rule, SLURM log) of each job the executor submitted, from its output."""
    found = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", output)
    return {job_id: (re.search(r"/rule_(\w+)/", log).group(1), Path(log)) for job_id, log in found}


@pytest.fixture(scope="module")
def dbn_runs(cluster, site_profile, tmp_path_factory, mirror_url):
    """The tiny DBN through the SLURM profile and, meanwhile, on this machine in another folder (the SLURM
    jobs use one CPU at a time, and mostly wait)."""
    workdir, local = tmp_path_factory.mktemp("slurm_workflow"), tmp_path_factory.mktemp("local_workflow")
    config = ["--config", "preset=tiny", f"data_mirror={mirror_url}"]
    local_run = subprocess.Popen([*SNAKEMAKE[:-1], "1", "--directory", str(local), TARGET, *config],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        result = run_on_slurm(cluster, site_profile, workdir, TARGET, *config)
        local_output, _ = local_run.communicate(timeout=WORKFLOW_TIMEOUT)
    finally:
        if local_run.poll() is None:
            local_run.kill()
            local_run.wait()
    assert local_run.returncode == 0, local_output[-3000:]
    return workdir, config, pd.read_csv(local / TARGET), result


@pytest.mark.slow
def test_the_dbn_trains_under_slurm_and_the_tiny_jobs_stay_local(cluster, dbn_runs):
    workdir, _, local_table, result = dbn_runs
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:] + cluster.logs()
    submitted = submissions(output)
    layers = dbn_layers()
    expected = {"pretrain_layer": layers, "encode_layer": layers - 1, "train": 1}
    assert Counter(rule for rule, _ in submitted.values()) == expected, "only the heavy jobs go to SLURM"
    completed = cluster.completed_jobs()
    assert set(completed) == set(submitted), "SLURM ran these jobs and no others"
    for job_id, (rule, log) in submitted.items():
        job = completed[job_id]
        assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0"), job
        assert job["NodeList"] == cluster.node and job["Partition"] == slurm_cluster.PARTITION
        assert Path(job["WorkDir"]) == workdir
        assert log.name == f"{job_id}.log" and log.is_file(), f"{rule}: the SLURM log of job {job_id}"
        assert f"rule {rule}:" in log.read_text(), f"{log} is the log of a {rule} job"
    slurm_table = pd.read_csv(workdir / TARGET)
    assert list(slurm_table.columns) == list(local_table.columns)
    computed = [column for column in local_table.columns if not CIRCUMSTANCES.search(column)]
    pd.testing.assert_frame_equal(slurm_table[computed], local_table[computed], check_exact=False, rtol=1e-6)


@pytest.mark.slow
def test_a_job_failing_under_slurm_fails_the_workflow_and_the_fixed_rerun_redoes_only_it(
        cluster, site_profile, dbn_runs):
    workdir, config, _, first = dbn_runs
    assert first.returncode == 0, "needs the SLURM run of the first test"
    layers = sorted(workdir.glob(f"{RUN_DIR}/layer*/*"))
    made = {path: path.stat().st_mtime_ns for path in layers}
    seen = set(cluster.completed_jobs())

    failed = run_on_slurm(cluster, site_profile, workdir, TARGET, *config, f"overrides=[{BAD_FINETUNING}]")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output[-3000:]
    [(job_id, (rule, slurm_log))] = submissions(output).items()
    assert rule == "train", "only fine-tuning reads the setting"
    assert cluster.completed_jobs()[job_id]["JobState"] == "FAILED"
    assert "Error in rule train" in output and str(slurm_log) in output, "the error names the SLURM log"
    rule_log = "results/logs/train/tiny/dbn/seed1234.log"
    assert rule_log in output, "and the job's own log"
    assert "/nonexistent/mnist" in (workdir / rule_log).read_text()
    assert not (workdir / RUN_DIR / "metrics.json").exists() and not (workdir / RUN_DIR / "model.ckpt").exists()
    assert not [p for p in (workdir / "results").rglob("*") if p.suffix in (".part", ".tmp")], "nothing half-made"

    fixed = run_on_slurm(cluster, site_profile, workdir, TARGET, *config)
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, output[-5000:]
    assert [rule for rule, _ in submissions(output).values()] == ["train"], "the failed job only"
    [new] = set(cluster.completed_jobs()) - seen - {job_id}
    assert cluster.completed_jobs()[new]["JobState"] == "COMPLETED"
    assert {path: path.stat().st_mtime_ns for path in layers} == made, "the layers are not redone"
    assert (workdir / RUN_DIR / "metrics.json").is_file() and len(pd.read_csv(workdir / TARGET)) == 1


def workflow_rules() -> dict[str, bool]:
    """Every rule of workflow/rules/*.smk -> whether it is a local rule (`use rule A as B` inherits A's)."""
    rules: dict[str, bool] = {}
    for path in sorted((PROJECT_ROOT / "workflow" / "rules").glob("*.smk")):
        blocks = re.finditer(r"^(?:rule (\w+)|use rule (\w+) as (\w+) with):\n((?:[ \t]+.*\n|[ \t]*\n)*)",
                             path.read_text(), flags=re.M)
        for block in blocks:
            name, parent, child, body = block.groups()
            rules[name or child] = "localrule: True" in body or (parent is not None and rules[parent])
    return rules


def test_every_rule_is_local_or_has_its_cluster_resources():
    """A new rule is either tiny (`localrule: True`) or a cluster job with a runtime, memory and CPUs."""
    rules = workflow_rules()
    heavy = sorted(name for name, local in rules.items() if not local)
    resources = yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"]
    assert heavy == sorted(resources), "the SLURM profile sets the resources of exactly the non-local rules"
    for name in heavy:
        assert set(resources[name]) == {"runtime", "mem_mb", "cpus_per_task"}, name
        assert resources[name]["cpus_per_task"] == "threads", "SLURM gives a job the CPUs of its threads"
    assert {"download", "prepare", "table", "layer_figure", "curve", "headline", "tutorial_table"} <= {
        name for name, local in rules.items() if local}
    assert {"train", "pretrain_layer", "encode_layer", "sample_hmc", "train_rnnrbm"} <= set(heavy)


def test_the_gpu_switch_asks_for_a_gpu_for_the_training_and_sampling_jobs_only(tmp_path):
    """overrides=[trainer=gpu] gives each job whose trainer runs on a GPU Snakemake's `gpu` resource, which the
    SLURM executor asks for (sbatch --gpus=1): the training, pretraining and sampling jobs, and the RNN-RBM's
    measurement that results/rnnrbm.csv reads (AIS on every frame), not the others."""
    dry_run = subprocess.run([*SNAKEMAKE[:-2], "--directory", str(tmp_path), "--workflow-profile", str(PROFILE), "-n",
                              "results/tiny/dbn.csv", "results/tiny/hmc.csv", "results/tiny/rnnrbm.csv",
                              "--config", "preset=tiny", "overrides=[trainer=gpu]"],
                             capture_output=True, text=True, timeout=600)
    output = dry_run.stdout + dry_run.stderr
    assert dry_run.returncode == 0, output[-3000:]
    gpus = {}
    for rule, body in re.findall(r"^rule (\w+):\n((?:    .*\n)*)", output, flags=re.M):
        gpus.setdefault(rule, set()).add(re.search(r"\bgpu=(\d+)", body).group(1) if "gpu=" in body else None)
    on_gpu = {"pretrain_layer", "train", "sample_hmc", "pretrain_rnnrbm", "train_rnnrbm", "rnnrbm_likelihood"}
    assert {rule for rule, values in gpus.items() if values == {"1"}} == on_gpu
    assert {rule for rule, values in gpus.items() if values == {None}} == set(gpus) - on_gpu


@pytest.mark.slow
def test_a_hydra_multirun_runs_as_slurm_jobs_with_the_launchers_resources(cluster, results_dir, tmp_path):
    """hydra/launcher=slurm (hydra-submitit-launcher, conf/hydra/launcher/slurm.yaml): each run of a sweep is a
    SLURM job with the CPUs and time limit asked for, and trains with as many torch threads as it got CPUs."""
    seen = set(cluster.completed_jobs())
    sweep = tmp_path / "sweep"
    command = ["timeout", "-s", "INT", str(WORKFLOW_TIMEOUT), sys.executable, "-m", "dltutorials.stages.train",
               "-m", "hydra/launcher=slurm", f"hydra.launcher.partition={slurm_cluster.PARTITION}",
               "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=7", f"hydra.sweep.dir={sweep}",
               "model=logreg", "preset=tiny", f"paths.results_dir={results_dir}",
               "model.module.learning_rate=0.05,0.13"]
    result = subprocess.run(command, env=cluster.env, capture_output=True, text=True, timeout=WORKFLOW_TIMEOUT + 60)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:] + cluster.logs()
    jobs = {job_id: job for job_id, job in cluster.completed_jobs().items() if job_id not in seen}
    assert len(jobs) == 2, f"one SLURM job per run of the sweep: {jobs}"
    for job in jobs.values():
        assert job["JobState"] == "COMPLETED" and job["Partition"] == slurm_cluster.PARTITION, job
        assert job["ProcCnt"] == "1" and job["TimeLimit"] == "7", job
    metrics = [json.loads(path.read_text()) for path in sorted(sweep.glob("*/metrics.json"))]
    assert [m["torch_threads"] for m in metrics] == [1, 1], "the job's CPUs, not the node's cores"
    assert sorted(m["model"] for m in metrics) == ["logreg", "logreg"]
