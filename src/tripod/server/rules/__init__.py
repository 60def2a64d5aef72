"""Rules: Prometheus 2.42 rule files, their evaluation with Prometheus's semantics, alert state,
the ``/api/v1/rules`` and ``/api/v1/alerts`` bodies, and promtool's two rule commands.

``load_rule_files(paths)`` gives :class:`GroupSpec` values (or a :class:`RuleFileError` listing
every problem at file:line); ``RuleGroup(spec, store, engine_query_func(Engine(store)))``
evaluates one at a time you choose (``group.eval(ts_ms)``); ``RuleManager`` is the server's:
reloads keep the last good set and alert state, groups run on their slots.
"""

from tripod.server.rules._templating import GoTemplateExpander, check_template
from tripod.server.rules._types import QueryFunc, RuleEvalError, engine_query_func
from tripod.server.rules.alerting import Alert, AlertingRule, AlertState
from tripod.server.rules.api import alerts_body, rules_body
from tripod.server.rules.check import check_rule_files
from tripod.server.rules.group import RuleGroup, RuleStatus, RuleStore
from tripod.server.rules.manager import RuleManager, expand_rule_globs
from tripod.server.rules.memstore import MemorySampleStore
from tripod.server.rules.recording import RecordingRule
from tripod.server.rules.rulefile import (
    GroupSpec,
    RuleFileError,
    RuleProblem,
    RuleSpec,
    load_rule_files,
    parse_rule_file,
    parse_rules,
)
from tripod.server.rules.ruletest import run_test_files

__all__ = [
    "Alert",
    "AlertState",
    "AlertingRule",
    "GoTemplateExpander",
    "GroupSpec",
    "MemorySampleStore",
    "QueryFunc",
    "RecordingRule",
    "RuleEvalError",
    "RuleFileError",
    "RuleGroup",
    "RuleManager",
    "RuleProblem",
    "RuleSpec",
    "RuleStatus",
    "RuleStore",
    "alerts_body",
    "check_rule_files",
    "check_template",
    "engine_query_func",
    "expand_rule_globs",
    "load_rule_files",
    "parse_rule_file",
    "parse_rules",
    "rules_body",
    "run_test_files",
]
