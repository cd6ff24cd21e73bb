"""Thread settings: from the CPUs the process may use, overridable, applied to every pool."""

import os
import subprocess
import sys

import pytest

from napari_mend import threads


@pytest.fixture
def restore_pools():
    import torch

    before = torch.get_num_threads()
    env = {k: os.environ.get(k) for k in (*threads._POOL_VARIABLES, "OMP_WAIT_POLICY")}
    yield
    threads.configure_threads(before)
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads.cgroup_cpu_quota(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_cpu_quota(tmp_path) == 3
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_quota(tmp_path) is None
    assert threads.cgroup_cpu_quota(tmp_path / "missing") is None


def test_available_cpus_respects_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)
    assert threads.available_cpus() == 4
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: 2)
    assert threads.available_cpus() == 2


def test_thread_count_sources(monkeypatch):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    assert threads.thread_count() == threads.available_cpus()
    monkeypatch.setenv(threads.ENV_VAR, "3")
    assert threads.thread_count() == 3
    assert threads.thread_count(5) == 5
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(threads.ENV_VAR, bad)
        with pytest.raises(ValueError, match=threads.ENV_VAR):
            threads.thread_count()
    with pytest.raises(ValueError, match="--threads"):
        threads.thread_count("0")


def test_configure_threads_sizes_every_pool(restore_pools, monkeypatch):
    import torch
    from threadpoolctl import threadpool_info

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert threads.configure_threads(1) == 1
    assert torch.get_num_threads() == 1
    assert threads.configured_threads() == 1
    assert all(os.environ[k] == "1" for k in threads._POOL_VARIABLES)
    assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_opencv_imported_later_gets_the_configured_count(restore_pools):
    cv2 = pytest.importorskip("cv2")
    threads.configure_threads(1)
    cv2.setNumThreads(3)  # as if imported after configure_threads, with its own default
    assert threads.opencv() is cv2 and cv2.getNumThreads() == 1


def test_opencv_is_none_without_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    assert threads.opencv() is None


def test_users_wait_policy_is_kept(restore_pools, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    threads.configure_threads(1)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_threads_per_worker():
    assert threads.threads_per_worker(2, 8) == 4
    assert threads.threads_per_worker(3, 2) == 1
    assert threads.threads_per_worker(0, 2) == 2


def test_command_line_option_and_env_reach_torch():
    code = ("import torch, sys; from napari_mend.cli.main import main; "
            "rc = main(sys.argv[1:]); print(torch.get_num_threads())")
    env = {**os.environ, threads.ENV_VAR: "2"}
    run = subprocess.run([sys.executable, "-c", code, "--threads", "1", "samples"],
                         capture_output=True, text=True, env=env, check=True)
    assert run.stdout.split()[-1] == "1"  # the option wins over the environment
    run = subprocess.run([sys.executable, "-c", code, "samples"], capture_output=True,
                         text=True, env={**env, threads.ENV_VAR: "1"}, check=True)
    assert run.stdout.split()[-1] == "1"
    bad = subprocess.run([sys.executable, "-c", code, "samples"], capture_output=True,
                         text=True, env={**env, threads.ENV_VAR: "lots"})
    assert bad.returncode == 2 and threads.ENV_VAR in bad.stderr


def test_batch_worker_takes_its_share(restore_pools, tmp_path):
    import torch

    from napari_mend.batch.one_file import mend_file

    entry = mend_file(str(tmp_path / "missing.tif"), str(tmp_path / "x.mend"),
                      {"threads": 1, "channel_axis": "auto", "detector": "classical",
                       "fill": "biharmonic", "threshold": 0.5, "classes": None})
    assert entry["status"] == "failed"
    assert torch.get_num_threads() == 1
