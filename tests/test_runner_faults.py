"""The runner under faults and bad input (#13), with real processes, files and mounts."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from multiberts_stats import read_predictions
from multiberts_stats.cli.run import cli_run
from multiberts_stats.cli.status import cli_status
from multiberts_stats.errors import EnvironmentFailure
from multiberts_stats.runner import Experiment, ExperimentError, load_experiment, run_experiment
from multiberts_stats.store import Store

from test_runner_helpers import checkpoint_dirs, shared_family

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


def _toml(path: Path, store, root, shared_data, *, seeds="0", extra="", checkpoints=None) -> Path:
    g = Path(shared_data) / "glue" / "SST-2"
    ck = checkpoints or f'{{ family = "tiny", root = "{root}" }}'
    path.write_text(f"""
name = "faults"
store = "{store}"
finetune_seeds = "{seeds}"
checkpoints = {ck}
tasks = [{{ name = "sst2", files = {{ train = "{g / 'train.tsv'}", validation = "{g / 'dev.tsv'}" }} }}]
{extra}
[methods.probe]
max_train = 60
max_eval = 20
C = [1.0]
folds = 2
layers = [1]
""")
    return path


def _cli(*args, env=None, timeout=300):
    e = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, "-m", "multiberts_stats", *args], capture_output=True, text=True,
                          env=e, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "`--workers` option must be a positive integer. Got 0"),
    (["--threads", "-3"], "`--threads` option must be a positive integer. Got -3"),
    (["--device", "tpu"], "`--device` option must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'. Got 'tpu'"),
])
def test_cli_options_out_of_range_are_clear_errors(tmp_path, family, shared_data, capsys, args, message):
    toml = _toml(tmp_path / "e.toml", tmp_path / "s", family, shared_data)
    assert cli_run([str(toml), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s" / "_failed").exists()


def test_cuda_without_cuda_is_an_environment_error_not_a_checkpoint_failure(tmp_path, family, shared_data,
                                                                          capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    toml = _toml(tmp_path / "e.toml", tmp_path / "s", family, shared_data, extra='device = "cuda"')
    assert cli_run([str(toml), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "The device 'cuda' is not available on this machine" in err and "checkpoint" not in err
    assert not Store(tmp_path / "s").failed()          # nothing recorded: the next run on a GPU runs it


def test_offline_hub_fails_fast_with_one_message(tmp_path, shared_data):
    ck = '[{ hub_id = "google/multiberts-seed_0", seed = 0, step = 2000 }, ' \
         '{ hub_id = "google/multiberts-seed_1", seed = 1, step = 2000 }]'
    toml = _toml(tmp_path / "e.toml", tmp_path / "s", None, shared_data, checkpoints=ck)
    t0 = time.perf_counter()
    with pytest.raises(EnvironmentFailure, match=r"No hub is reachable \(the hub is switched off .*2 checkpoint\(s\)"
                                                 r".*google/multiberts-seed_0.*checkpoint_root"):
        run_experiment(load_experiment(toml), quiet=True)
    assert time.perf_counter() - t0 < 10
    assert not Store(tmp_path / "s").failed()
    # a hub that is not switched off but does not answer: found once, in seconds
    env = {"HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": "", "HF_ENDPOINT": "http://127.0.0.1:9",
           "HF_HUB_CACHE": str(tmp_path / "cache")}
    t0 = time.perf_counter()
    r = _cli("run", str(toml), "--quiet", env=env, timeout=120)
    assert r.returncode == 2 and "no connection to 127.0.0.1:9" in r.stderr, r.stderr
    assert r.stderr.count("No hub is reachable") == 1
    assert time.perf_counter() - t0 < 60


def test_input_failure_exits_nonzero_with_the_retry_command_and_stale_records_go(tmp_path, family,
                                                                              shared_data, capsys):
    root = tmp_path / "fam"
    for d in checkpoint_dirs(family):
        shutil.copytree(d, root / d.name)
    bad = root / "seed_7-step_0k"
    shutil.copytree(checkpoint_dirs(family)[0], bad)
    (bad / "tiny_checkpoint.json").unlink()
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    toml = _toml(tmp_path / "e.toml", tmp_path / "s", root, shared_data)
    assert cli_run([str(toml), "--quiet"]) == 1
    r = capsys.readouterr()
    assert "3 jobs: 2 run, 0 already in the store, 1 failed" in r.out
    assert f"rerun them with: multiberts-stats run {toml} --retry-failed" in r.err
    assert cli_run([str(toml), "--quiet"]) == 1                 # skipped, but still not a success
    r = capsys.readouterr()
    assert "1 failed before" in r.out and "--retry-failed" in r.err
    st = _cli("status", str(tmp_path / "s"))
    assert st.returncode == 0 and "failed   1" in st.stdout and "[input]" in st.stdout
    # the bad checkpoint leaves the experiment: its failure record no longer shows
    _toml(toml, tmp_path / "s", root, shared_data,
          checkpoints=f'{{ family = "tiny", root = "{root}", seeds = "0..1" }}')
    assert cli_run([str(toml), "--quiet"]) == 0
    assert "2 jobs: 0 run, 2 already in the store, 0 failed" in capsys.readouterr().out
    assert cli_status([str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "failed   0" in out and "done     2" in out


def test_status_refuses_a_folder_that_is_not_a_store(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    assert cli_status([str(tmp_path / "photos")]) == 2
    assert "is not a store" in capsys.readouterr().err
    assert not (tmp_path / "photos" / "_store.json").exists()


def _events(store: Path) -> pd.DataFrame:
    return Store(store).events() if (store / "_log").is_dir() else pd.DataFrame(columns=["event", "pid"])


def test_killed_pool_worker_is_an_environment_failure_retried_next_run(tmp_path, family, shared_data):
    store = tmp_path / "s"
    toml = _toml(tmp_path / "e.toml", store, family, shared_data, seeds="0-1")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "multiberts_stats", "run", str(toml), "--quiet",
                             "--executor", "processes", "--workers", "1"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    victim = None
    while time.time() < deadline and victim is None and proc.poll() is None:
        ev = _events(store)
        started = ev[(ev.event == "start") & (ev.pid != proc.pid)]
        if len(started):
            victim = int(started.pid.iloc[0])
        time.sleep(0.02)
    assert victim is not None, proc.communicate()
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert "for a reason of the machine, retried on the next run" in out
    assert "--retry-failed" not in err and f"rerun them with: multiberts-stats run {toml}" in err
    kinds = {r["kind"] for r in Store(store).failed().values()}
    assert kinds == {"environment"}
    assert cli_run([str(toml), "--quiet"]) == 0         # no flag needed
    assert len(Store(store).done_keys()) == 4 and not Store(store).failed()


def test_pool_workers_exit_when_the_runner_is_killed(tmp_path, family, shared_data):
    psutil = pytest.importorskip("psutil")
    store = tmp_path / "s"
    toml = _toml(tmp_path / "e.toml", store, family, shared_data, seeds="0-5")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "multiberts_stats", "run", str(toml), "--quiet",
                             "--executor", "processes", "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        ev = _events(store)
        if len(ev[(ev.event == "start") & (ev.pid != proc.pid)]):
            break
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2
    os.kill(proc.pid, signal.SIGKILL)                   # the runner only, not its process group
    proc.wait()
    gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [(p.pid, p.cmdline()[-2:]) for p in alive]


def test_read_only_store_with_every_job_done_reports_done(tmp_path, family, shared_data, capsys):
    if os.geteuid() != 0:
        pytest.skip("remounting a tmpfs read-only needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {r.stderr.strip()}")
    try:
        toml = _toml(tmp_path / "e.toml", mnt / "s", family, shared_data)
        s = run_experiment(load_experiment(toml), quiet=True)
        assert (s.done, s.failed) == (2, 0)
        before = read_predictions(mnt / "s")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        assert cli_run([str(toml), "--quiet"]) == 0
        assert "2 jobs: 0 run, 2 already in the store, 0 failed" in capsys.readouterr().out
        pd.testing.assert_frame_equal(read_predictions(mnt / "s"), before)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_mid_grid_ends_cleanly_and_the_next_run_finishes(tmp_path, family, shared_data, capsys):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {r.stderr.strip()}")
    try:
        toml = _toml(tmp_path / "e.toml", mnt / "s", family, shared_data)
        Store(mnt / "s")
        filler = mnt / "filler"
        fd = os.open(filler, os.O_CREAT | os.O_WRONLY)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, os.path.getsize(filler) - 24 * 1024)   # room for the job list, not for rows
        assert cli_run([str(toml), "--quiet"]) in (1, 2)
        err = capsys.readouterr().err
        assert "Traceback" not in err and "rerun them with" in err, err
        names = {p.name for p in (mnt / "s").rglob("*")}
        assert not any(n.startswith(".tmp-") for n in names), names
        assert not Store(mnt / "s").done_keys()
        failed = Store(mnt / "s").failed()
        assert {r["kind"] for r in failed.values()} <= {"environment"}, failed
        filler.unlink()
        assert cli_run([str(toml), "--quiet"]) == 0
        assert len(Store(mnt / "s").done_keys()) == 2 and not Store(mnt / "s").failed()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_folder_family_key_typos_and_missing_seeds(tmp_path, family, shared_data):
    base = {"store": str(tmp_path / "s"), "tasks": ["sst2"], "methods": {"probe": {}}}
    with pytest.raises(ExperimentError, match=r"unknown keys \['seed'\] for a folder family \(the keys are "
                                              r"\['family', 'lenient', 'root', 'seeds', 'step', 'steps'\]\)"):
        Experiment.from_dict({**base, "checkpoints": {"family": "tiny", "root": str(family), "seed": [0]}})
    with pytest.raises(ExperimentError, match=r"lenient = true keeps.*names missing seed\(s\) 2-99"):
        Experiment.from_dict({**base, "checkpoints": {"family": "tiny", "root": str(family), "seeds": "0-99"}})
    exp = Experiment.from_dict({**base, "checkpoints": {"family": "tiny", "root": str(family), "seeds": "0-99",
                                                       "lenient": True}})
    assert [c.seed for c in exp.checkpoints] == [0, 1]
    for sel in ("0..1", "0:1", [0, 1], "all", "0-1"):
        exp = Experiment.from_dict({**base, "checkpoints": {"family": "tiny", "root": str(family), "seeds": sel}})
        assert [c.seed for c in exp.checkpoints] == [0, 1], sel
    with pytest.raises(ExperimentError, match="`checkpoints` key .* unknown keys \\['seed'\\] for a catalog"):
        Experiment.from_dict({**base, "checkpoints": {"family": "multiberts", "seed": 3}})
    with pytest.raises(ExperimentError, match=r"`checkpoints\[0\]` checkpoint is invalid.*no '\.\.'"):
        Experiment.from_dict({**base, "checkpoints": [{"hub_id": "../../etc/secrets"}]})
    with pytest.raises(ExperimentError, match=r"`checkpoints\[0\]` checkpoint is invalid"):
        Experiment.from_dict({**base, "checkpoints": [{"hub_id": "org/x", "revision": "../../../tmp"}]})


def test_pos_probe_on_a_128_position_model_cuts_long_sentences_and_says_so(tmp_path, family, shared_data):
    """Real EWT sentences plus one longer than the model's 128 positions (a real treebank has them)."""
    from multiberts_stats.errors import DataWarning

    src = (Path(shared_data) / "ud_english_ewt" / "en_ewt-ud-dev.conllu").read_text(encoding="utf-8")
    blocks = [b for b in src.split("\n\n") if b.strip()][:60]
    words = [w for b in blocks[:20] for w in
             (line.split("\t")[1] for line in b.splitlines() if line and not line.startswith("#")
              and line.split("\t")[0].isdigit())]
    long = ["# sent_id = long-1", "# text = " + " ".join(words[:200])]
    long += [f"{i + 1}\t{w}\t_\tNOUN\t_\t_\t0\tdep\t_\t_" for i, w in enumerate(words[:200])]
    folder = tmp_path / "data" / "ud_english_ewt"
    folder.mkdir(parents=True)
    (folder / "en_ewt-ud-dev.conllu").write_text("\n\n".join(blocks + ["\n".join(long)]) + "\n\n",
                                                 encoding="utf-8")
    ckpt = [{"path": str(checkpoint_dirs(family)[0]), "family": "tiny", "seed": 0, "step": 0}]
    exp = Experiment.from_dict({
        "name": "pos", "store": str(tmp_path / "store"), "checkpoints": ckpt,
        "tasks": [{"name": "pos", "data_dir": str(tmp_path / "data"), "train_split": "validation"}],
        "methods": {"probe": {"C": [1.0], "folds": 2, "layers": [1], "max_length": 512}}})
    with pytest.warns(DataWarning, match=r"words of the 'validation' split \(1 sentence\(s\), e\.g\. 'long-1'\) "
                                         r"fall past the longest input"):
        s = run_experiment(exp, quiet=True)
    assert (s.done, s.failed) == (1, 0), s.errors
    st = Store(tmp_path / "store")
    info = st.provenance(next(iter(st.done_keys())))["method_info"]
    assert info["truncated_words_train"] + info["truncated_words_eval"] > 0
    df = read_predictions(tmp_path / "store")
    assert len(df) > 0 and not df.prediction.isna().any()


_HOLD_JOB = """
import sys, time
from multiberts_stats.store import Store
lock = Store(sys.argv[1], heartbeat=0.2).claim(sys.argv[2])
assert lock is not None
print("held", flush=True)
time.sleep(float(sys.argv[3]))
lock.release()
"""


def test_a_waiting_runner_says_who_holds_what_since_when(tmp_path, family, shared_data, caplog):
    import logging
    import socket

    toml = _toml(tmp_path / "e.toml", tmp_path / "s", family, shared_data,
                 checkpoints=f'{{ family = "tiny", root = "{family}", seeds = [0] }}')
    exp = load_experiment(toml)
    (key,) = [j.key for j in exp.jobs()]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_JOB, str(tmp_path / "s"), key, "3"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with caplog.at_level(logging.WARNING, logger="multiberts_stats"):
            s = run_experiment(exp, quiet=True)
    finally:
        holder.kill()
    assert (s.done, s.failed) == (1, 0)
    waits = [r.getMessage() for r in caplog.records if "waiting for job" in r.getMessage()]
    assert len(waits) == 1, waits
    assert f"held by host {socket.gethostname()}, pid {holder.pid}, since 20" in waits[0]
    assert "heartbeat" in waits[0]


def test_one_data_folder_variable_and_its_older_name(monkeypatch, shared_data):
    from multiberts_stats.tasks import TaskError, get_task

    monkeypatch.delenv("MULTIBERTS_STATS_DATA", raising=False)
    monkeypatch.setenv("MULTIBERTS_SHARED_DATA", str(shared_data))
    assert len(get_task("rte").load("validation")) == 277
    monkeypatch.setenv("MULTIBERTS_STATS_DATA", str(shared_data))
    assert len(get_task("rte").load("validation")) == 277
    monkeypatch.setenv("MULTIBERTS_SHARED_DATA", "/somewhere/else")
    with pytest.raises(TaskError, match="names two data folders"):
        get_task("rte").load("validation")


@pytest.mark.slow
def test_dask_worker_killed_mid_job_is_never_an_input_failure(tmp_path, family, shared_data):
    """A real LocalCluster: SIGKILL the worker running a job. Whatever Dask makes of it (the
    scheduler reruns the task, or gives up with KilledWorker), nothing is recorded as a failure
    of the inputs, and the next run completes the grid."""
    pytest.importorskip("dask.distributed")
    store = tmp_path / "s"
    toml = _toml(tmp_path / "e.toml", store, family, shared_data, seeds="0-1")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "multiberts_stats", "run", str(toml), "--quiet",
                             "--executor", "dask", "--workers", "2"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    victim = None
    while time.time() < deadline and victim is None and proc.poll() is None:
        ev = _events(store)
        started = ev[(ev.event == "start") & (ev.pid != proc.pid)]
        if len(started):
            victim = int(started.pid.iloc[0])
        time.sleep(0.02)
    assert victim is not None, proc.communicate()
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), err
    assert "Traceback" not in err, err
    assert {r["kind"] for r in Store(store).failed().values()} <= {"environment"}
    r = _cli("run", str(toml), "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(Store(store).done_keys()) == 4 and not Store(store).failed()
