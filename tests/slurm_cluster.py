"""A one-node SLURM cluster on this machine, for tests: Debian's SLURM and MUNGE, every file in one folder.

``SlurmCluster(folder).start()`` writes a MUNGE key and a ``slurm.conf`` for this host into ``folder``,
starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground as child processes (there is no
systemd), and waits until the node takes jobs; ``stop()`` cancels what is left of the cluster's jobs
and ends the three daemons by their process ids. Clients find the cluster through ``SLURM_CONF``
(``cluster.env``). Root only: the daemons run as root (``SlurmUser=root``) and jobs run as the
submitting user.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# The daemons live in sbin, which a user's PATH may lack.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")
PACKAGES = ("munge", "slurmctld", "slurmd", "slurm-client")
PARTITION = "debug"
# Seconds SLURM keeps a finished job in squeue. Without slurmdbd, sacct knows no jobs: the executor
# must read job states from squeue, and must see each finished job there at least once. The plugin
# falls back to sacct when MinJobAge is below 3 x its first status-check delay, and its checks space
# out by 10 s each while nothing finishes (up to 180 s): SLURM's default of 300 s covers both.
MIN_JOB_AGE = 300


def which(program: str) -> str | None:
    return shutil.which(program, path=SEARCH_PATH)


def missing_programs() -> list[str]:
    return [program for program in PROGRAMS if not which(program)]


def install_packages() -> str | None:
    """Install SLURM and MUNGE with apt-get when a program is missing; the reason it cannot, or None."""
    if not missing_programs():
        return None
    if os.geteuid() != 0:
        return f"SLURM programs {missing_programs()} not found, and not root to install {' '.join(PACKAGES)}"
    if not which("apt-get"):
        return f"SLURM programs {missing_programs()} not found, and no apt-get to install them"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr[-1000:]}"
    return f"SLURM programs {missing_programs()} still missing after apt-get" if missing_programs() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def this_node() -> dict[str, str]:
    """``slurmd -C``: this host's name, CPU layout and memory, as SLURM sees them."""
    line = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, check=True,
                          timeout=60).stdout.splitlines()[0]
    return dict(re.findall(r"(\w+)=(\S+)", line))


class SlurmCluster:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.conf = self.folder / "slurm.conf"
        self.jobcomp = self.folder / "jobcomp.log"
        self.munge_socket = self.folder / "munge" / "munge.socket"
        # Commands find the cluster through SLURM_CONF (no /etc/slurm/slurm.conf is written). The executor's
        # job step (snakemake-executor-plugin-slurm-jobstep 0.6) removes every SLURM_* variable but the job's
        # id before it calls srun inside the job, so an srun first on PATH puts SLURM_CONF back and runs
        # the real one (clusters configured in /etc/slurm or configless need no such thing).
        self.bin = self.folder / "bin"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), "PATH": os.pathsep.join([str(self.bin), SEARCH_PATH])}
        self.processes: dict[str, subprocess.Popen] = {}
        self.node = ""

    def start(self) -> None:
        self.bin.mkdir()
        srun = self.bin / "srun"
        srun.write_text(f"#!/bin/sh\nSLURM_CONF={shlex.quote(str(self.conf))} "
                        f"exec {shlex.quote(which('srun'))} \"$@\"\n")
        srun.chmod(0o755)
        self._start_munge()
        self._write_conf()
        self._start("slurmctld", [which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._start("slurmd", [which("slurmd"), "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait_until_the_node_is_idle()

    def _start_munge(self) -> None:
        folder = self.folder / "munge"
        folder.mkdir()
        folder.chmod(0o755)  # clients reach the socket in it
        key = folder / "munge.key"
        # munged accepts a key only if no one else may read or write it
        with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(os.urandom(1024))
        self._start("munged", [which("munged"), "--foreground", "--force", f"--key-file={key}",
                               f"--socket={self.munge_socket}", f"--pid-file={folder / 'munged.pid'}",
                               f"--log-file={folder / 'munged.log'}", f"--seed-file={folder / 'munged.seed'}"])
        self._wait(lambda: self.munge_socket.exists(), "munged to open its socket", self.folder / "munge")

    def _write_conf(self) -> None:
        node = this_node()
        self.node = node["NodeName"]
        # a little below what slurmd finds, or the node registers with too little memory and is drained
        memory = int(int(node["RealMemory"]) * 0.9)
        layout = " ".join(f"{key}={node[key]}" for key in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket",
                                                           "ThreadsPerCore") if key in node)
        for name in ("state", "spool"):
            (self.folder / name).mkdir()
        self.conf.write_text(f"""\
ClusterName=dltutorials
SlurmctldHost={socket.gethostname()}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={self.folder / "state"}
SlurmdSpoolDir={self.folder / "spool"}
SlurmctldPidFile={self.folder / "slurmctld.pid"}
SlurmdPidFile={self.folder / "slurmd.pid"}
SlurmctldLogFile={self.folder / "slurmctld.log"}
SlurmdLogFile={self.folder / "slurmd.log"}
# no cgroups here: processes tracked through /proc, CPUs bound by sched_setaffinity
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge={MIN_JOB_AGE}
# no slurmdbd: no accounting; a line per finished job in the job-completion log instead
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
KillWait=5
NodeName={self.node} NodeAddr=127.0.0.1 {layout} RealMemory={memory} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.folder / f"{name}.out", "wb")
        self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                                start_new_session=True)
        log.close()

    def _wait(self, condition, what: str, logs: Path, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            if any(p.poll() is not None for p in self.processes.values()):
                break
            time.sleep(0.5)
        exited = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        raise RuntimeError(f"waiting for {what}: {f'daemons exited {exited}' if exited else f'not after {seconds} s'}"
                           f"; logs in {logs}:\n{self.logs()}")

    def _wait_until_the_node_is_idle(self) -> None:
        def idle():
            state = self.run("sinfo", "--noheader", "--format=%t", check=False)
            return state.returncode == 0 and state.stdout.strip() == "idle"
        self._wait(idle, f"node {self.node} to be idle in partition {PARTITION}", self.folder)

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([which(program), *args], env=self.env, capture_output=True, text=True, timeout=60,
                              check=check)

    def completed_jobs(self) -> dict[str, dict[str, str]]:
        """The job-completion log: job id -> its fields (JobState, NodeList, WorkDir, ExitCode, ...)."""
        if not self.jobcomp.exists():
            return {}
        jobs = {}
        for line in self.jobcomp.read_text().splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in fields:
                jobs[fields["JobId"]] = fields
        return jobs

    def logs(self) -> str:
        parts = []
        for path in sorted([*self.folder.glob("*.log"), *self.folder.glob("*.out"), *self.folder.glob("munge/*.log")]):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel the cluster's jobs that are left, then end slurmd, slurmctld and munged by their ids."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            queued = self.run("squeue", "--noheader", "--format=%i", check=False).stdout.split()
            if queued:
                self.run("scancel", *queued, check=False)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and self.run("squeue", "--noheader", "--states=RUNNING,COMPLETING",
                                                               "--format=%i", check=False).stdout.strip():
                    time.sleep(1)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
