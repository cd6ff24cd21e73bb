"""Every subcommand answers --help with its own usage line and exits 0."""

import pytest

from napari_mend.cli.main import build_parser, main


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = []
    for name, p in sub.choices.items():
        names.append([name])
        for action in p._actions:
            if action.dest == "kind" and action.choices:  # evaluate KIND
                names += [[name, kind] for kind in action.choices]
            if getattr(action, "choices", None) and action.dest == "action":  # models ACTION
                names += [[name, a] for a in action.choices]
    return names


COMMANDS = _commands()


def test_every_command_is_listed():
    top = {c[0] for c in COMMANDS}
    assert {"detect", "inpaint", "restore", "demo", "samples", "train", "evaluate",
            "unwatermark", "demoire", "deidentify", "batch", "models"} <= top


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: napari-mend {command[0]}")
    assert "python -m" not in out


@pytest.mark.parametrize("kind", ["detector", "inpainter", "demoire"])
def test_train_kind_help(kind, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--threads", "1", "train", kind, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: napari-mend train")


def test_top_level_help_names_real_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "train -- --help" not in out and "--threads" in out


def test_input_named_train_is_not_the_train_command(tmp_path, capsys):
    assert main(["detect", "train", "-o", str(tmp_path / "x.tif")]) == 2
    assert "train: no such file" in capsys.readouterr().err
