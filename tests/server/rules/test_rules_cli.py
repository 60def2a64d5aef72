"""``tripod rules check`` and ``tripod test rules`` through the real entry point: exit 0, 1, or 2
with one line for a usage error."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tripod.cli import cli

CORPUS = Path(__file__).parent / "corpus"


def test_rules_check_exit_codes() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["rules", "check", str(CORPUS / "check" / "good_full.yml")])
    assert ok.exit_code == 0, ok.output
    assert "SUCCESS: 2 rules found" in ok.output
    bad = runner.invoke(cli, ["rules", "check", str(CORPUS / "check" / "bad_record_name.yml")])
    assert bad.exit_code == 1
    assert "bad_record_name.yml:4:17:" in bad.output
    missing = runner.invoke(cli, ["rules", "check", "no/such/file.yml"])
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines() == [
        "tripod rules check: no/such/file.yml: no such file"
    ]
    none = runner.invoke(cli, ["rules", "check"])
    assert none.exit_code == 2
    assert len(none.output.strip().splitlines()) == 1


def test_test_rules_exit_codes() -> None:
    runner = CliRunner()
    tests = CORPUS / "tests"
    ok = runner.invoke(cli, ["test", "rules", str(tests / "pass_instance_down.yml")])
    assert ok.exit_code == 0, ok.output
    assert "  SUCCESS" in ok.output
    failed = runner.invoke(
        cli,
        [
            "test",
            "rules",
            str(tests / "pass_absent.yml"),
            str(tests / "fail_instance_down_for.yml"),
        ],
    )
    assert failed.exit_code == 1
    assert "alertname: InstanceDown, time: 3m" in failed.output
    missing = runner.invoke(cli, ["test", "rules", "nope.yml"])
    assert missing.exit_code == 2
    assert missing.output.strip() == "tripod test rules: nope.yml: no such file"
