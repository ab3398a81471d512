"""The command line behaves like one: options anywhere, a mistake shows the subcommand's own usage, every option
says what it does, and ``evaluate`` tells a MIDI file from a checkpoint."""

from __future__ import annotations

import argparse
import json

import pretty_midi
import pytest

from composer_app import cli


@pytest.fixture
def tune(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i in range(16):
        inst.notes.append(pretty_midi.Note(80, 60 + (3 * i) % 7, 0.5 * i, 0.5 * i + 0.4))
    pm.instruments.append(inst)
    path = tmp_path / "tune.mid"
    pm.write(str(path))
    return path


@pytest.mark.parametrize("argv", [
    ["evaluate", "ck.pt", "--json", "a.mid", "b.mid"],
    ["evaluate", "ck.pt", "--model-name", "lstm_attn", "a.mid", "--json", "b.mid"],
    ["evaluate", "--json", "ck.pt", "a.mid", "b.mid"],
])
def test_options_go_anywhere_among_the_positionals(argv):
    args = cli.parse_args(argv)
    assert args.command == "evaluate" and args.checkpoint == "ck.pt" and args.paths == ["a.mid", "b.mid"]
    assert args.json


def test_the_rest_of_the_line_still_passes_on_and_run_is_the_default():
    args = cli.parse_args(["bench", "step", "--json", "--original-size"])
    assert args.what == "step" and args.options == ["--json", "--original-size"]
    assert cli.parse_args(["--no-audio"]).command == "run"


@pytest.mark.parametrize("argv,command", [(["evaluate", "ck.pt", "--bogus"], "evaluate"),
                                          (["generate", "-s", "x.npy"], "generate")])
def test_a_mistake_shows_the_subcommands_usage(argv, command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: everybody-compose {command} " in err and f"everybody-compose {command}: error:" in err
    assert "COMMAND" not in err  # not the top-level usage


def test_every_option_of_every_command_has_help():
    for name, command in cli.subcommands(cli.build_parser()).items():
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_evaluate_takes_a_midi_file_as_data_and_scores_the_shipped_model(tune, capsys):
    assert cli.main(["evaluate", str(tune), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["checkpoint"].endswith("lstm_attn_offline.pt") and result["files"] == 1 and result["notes"] == 16


def test_evaluate_a_midi_file_without_its_suffix_is_still_data(tune, tmp_path):
    renamed = tmp_path / "tune_without_suffix"
    renamed.write_bytes(tune.read_bytes())
    args = cli.parse_args(["evaluate", str(renamed)])
    cli.checkpoint_before_data(args)
    assert args.checkpoint is None and args.paths == [str(renamed)]


def test_evaluate_checkpoint_options_and_files_in_any_order(tiny_checkpoint, tune, capsys):
    tiny = tiny_checkpoint("lstm_attn", "offline")
    assert cli.main(["evaluate", str(tiny), "--model-name", "lstm_attn", str(tune), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["checkpoint"] == str(tiny) and result["notes"] == 16
