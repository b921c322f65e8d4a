import subprocess
import sys

import pytest

from mlops_ci.cli import COMMANDS, cli, main

HEAVY = ("mlflow", "sklearn", "scipy", "pandas", "docker", "numpy", "matplotlib", "dvc", "github", "pyarrow")


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom mlops_ci.cli import main\nmain(['--help'])\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "HEAVY=", f"--help imported: {proc.stdout.splitlines()[-1]}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_has_working_help(name, capsys):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Usage: mlops-ci {name}" in out


def test_every_option_has_an_environment_variable():
    import click

    ctx = click.Context(cli)
    missing = []
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        commands = cmd.commands.values() if isinstance(cmd, click.Group) else [cmd]
        for sub in commands:
            for param in sub.params:
                if isinstance(param, click.Option) and not param.envvar and "--help" not in param.opts:
                    missing.append(f"{name} {sub.name} {param.opts}")
    assert missing == []


def test_usage_errors_are_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["metrics", "diff", "--precision", "99"]) == 2
    assert main(["version"]) == 0 and capsys.readouterr().out.strip()


def test_a_missing_optional_dependency_names_the_extra(monkeypatch, capsys):
    def needs_mlflow(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'mlflow'", name="mlflow")

    monkeypatch.setattr(cli, "main", needs_mlflow)
    assert main(["register"]) == 2
    err = capsys.readouterr().err
    assert err == ("mlops-ci: error: mlops-ci register needs 'mlflow', which is not installed: "
                   'pip install "mlops-ci[mlflow]" (or "mlops-ci[all]" for every command)\n')  # one line
    assert "Traceback" not in err


def test_a_missing_core_module_is_still_a_bug(monkeypatch):
    def broken(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'mlops_ci.nope'", name="mlops_ci.nope")

    monkeypatch.setattr(cli, "main", broken)
    with pytest.raises(ModuleNotFoundError):
        main(["version"])
