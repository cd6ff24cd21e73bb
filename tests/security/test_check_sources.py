"""The source check (.ci/check_sources.py) passes on this repository and catches what it names."""

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "check_sources.py"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_repository_passes():
    result = _run()
    assert result.returncode == 0, result.stdout


def test_unsafe_loads_and_unconfined_joins_are_reported(tmp_path):
    io = tmp_path / "src" / "napari_mend" / "io"
    io.mkdir(parents=True)
    (io / "bundle.py").write_text(textwrap.dedent("""\
        import json, pickle, torch, yaml
        from pathlib import Path
        from pickle import loads
        manifest = json.loads(text)
        a = root / manifest["files"]["original"]
        b = Path(root, manifest.get("mended"))
        c = root / _FILES["original"]
        d = confined(root, manifest["files"]["labels"])
        torch.load(f)
        torch.load(f, weights_only=False)
        torch.load(f, map_location="cpu", weights_only=True)
        pickle.loads(data)
        yaml.load(text)
        yaml.safe_load(text)
        """))
    result = _run(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split(":")[1] for line in lines] == ["3", "5", "6", "9", "10", "12", "13"]
    assert all(line.startswith("src/napari_mend/io/bundle.py:") for line in lines)
    assert "weights_only=True" in lines[3] and "confined" in lines[1] and "safe_load" in lines[6]
