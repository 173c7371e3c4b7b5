"""plugin/pytest_compat.py: each reach into pytest's internals, through a real pytest session.

One test (or two) per function, named after it: a pytest upgrade that breaks one of them
fails here by name, not somewhere deep in a load session. The inner sessions are plain
(no load option), so nothing is patched; they run in subprocesses all the same, as the
plugin's other tests do.
"""

from __future__ import annotations

import sys

import pytest

from pytest_loadhooks.plugin import pytest_compat


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args)


# ---------------------------------------------------------------------------- ini_values
def ini_session(pytester: pytest.Pytester, show: str, *args: str) -> pytest.RunResult:
    """A session whose conftest prints ``show`` (an expression of ``values = ini_values(config)``) at configure."""
    pytester.makeconftest(f'''
        from pytest_loadhooks.plugin.pytest_compat import ini_values

        def pytest_configure(config):
            values = ini_values(config)
            print("INI:", {show})
        ''')
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = run(pytester, *args)
    result.assert_outcomes(passed=1)
    return result


def test_ini_values_reads_keys_pytest_does_not_know(pytester):
    pytester.makeini("[pytest]\nnobody_registered_this = some value\nload_users = 3\n")
    result = ini_session(pytester, 'repr(values["nobody_registered_this"]), repr(values["load_users"])',
                         "-W", "ignore::pytest.PytestConfigWarning")
    result.stdout.fnmatch_lines(["INI: 'some value' '3'"])


def test_ini_values_reads_a_pyproject_table_raw(pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nload_users = "5"\nnobody_registered_this = ["a", "b"]\n')
    result = ini_session(pytester, 'repr(values["load_users"]), list(values["nobody_registered_this"])',
                         "-W", "ignore::pytest.PytestConfigWarning")
    result.stdout.fnmatch_lines(["INI: '5' ['a', 'b']"])


def test_ini_values_raises_no_deprecation_warning(pytester):
    # pytest 9.1 deprecates config.inicfg: the function must not go through it where _inicfg exists.
    pytester.makeini("[pytest]\nload_users = 3\n")
    result = ini_session(pytester, 'repr(values["load_users"])',
                         "-W", "error::DeprecationWarning", "-W", "error::pytest.PytestDeprecationWarning")
    result.stdout.fnmatch_lines(["INI: '3'"])


# ---------------------------------------------------------------------------- early_options
EARLY_PLUGIN = '''
import pytest
from pytest_loadhooks.plugin.pytest_compat import early_options

def pytest_addoption(parser):
    parser.addoption("--early-flag", default="unset")

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    options = early_options(early_config)
    print("EARLY:", options.early_flag, "getoption:", early_config.getoption("early_flag"),
          "paths:", list(options.file_or_dir))
    return (yield)
'''


def test_early_options_hold_the_command_line_before_conftests_load(pytester):
    pytester.makepyfile(early_plugin=EARLY_PLUGIN)
    pytester.makeconftest("print('CONFTEST IMPORTED')\n")
    pytester.makepyfile(test_some="def test_ok():\n    pass\n")
    result = run(pytester, "-p", "early_plugin", "--early-flag=given", "test_some.py")
    result.assert_outcomes(passed=1)
    # The public getoption still answers with the default there; early_options has the value.
    result.stdout.fnmatch_lines(["EARLY: given getoption: unset paths: ['test_some.py']", "CONFTEST IMPORTED"])


def test_early_options_see_addopts(pytester):
    pytester.makepyfile(early_plugin=EARLY_PLUGIN)
    pytester.makeini("[pytest]\naddopts = --early-flag=from-addopts\n")
    pytester.makepyfile(test_some="def test_ok():\n    pass\n")
    result = run(pytester, "-p", "early_plugin")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["EARLY: from-addopts *"])


# ---------------------------------------------------------------------------- request_fixture
def test_request_fixture_makes_a_test_set_up_a_fixture_it_did_not_ask_for(pytester):
    pytester.makeconftest('''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import request_fixture

        SET_UP = []

        @pytest.fixture
        def extra():
            SET_UP.append("extra")
            return "value"

        def pytest_collection_modifyitems(items):
            for item in items:
                request_fixture(item, "extra")
                request_fixture(item, "extra")  # twice is once
        ''')
    pytester.makepyfile('''
        import conftest

        def test_plain(request):
            assert conftest.SET_UP == ["extra"]
            assert request.node.funcargs["extra"] == "value"
            assert request.fixturenames.count("extra") == 1
        ''')
    run(pytester).assert_outcomes(passed=1)


# ---------------------------------------------------------------------------- set_up_last
def test_set_up_last_sets_up_the_fixture_and_its_dependents_after_the_others(pytester):
    pytester.makeconftest('''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import set_up_last

        ORDER = []

        @pytest.fixture
        def starts_run():
            ORDER.append("starts_run")

        @pytest.fixture
        def reads_run(starts_run):
            ORDER.append("reads_run")

        @pytest.fixture
        def reads_reader(reads_run):
            ORDER.append("reads_reader")

        @pytest.fixture
        def listener():
            ORDER.append("listener")

        @pytest.fixture
        def other():
            ORDER.append("other")

        def pytest_collection_modifyitems(items):
            for item in items:
                set_up_last(item, "starts_run")
        ''')
    pytester.makepyfile('''
        import conftest

        def test_order(starts_run, reads_reader, listener, other):
            assert conftest.ORDER == ["listener", "other", "starts_run", "reads_run", "reads_reader"]
        ''')
    run(pytester).assert_outcomes(passed=1)


def test_set_up_last_also_orders_a_fixture_added_by_request_fixture(pytester):
    pytester.makeconftest('''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import request_fixture, set_up_last

        ORDER = []

        @pytest.fixture
        def added():
            ORDER.append("added")

        @pytest.fixture
        def own():
            ORDER.append("own")

        def pytest_collection_modifyitems(items):
            for item in items:
                request_fixture(item, "added")
                set_up_last(item, "added")
        ''')
    pytester.makepyfile('''
        import conftest

        def test_order(own):
            assert conftest.ORDER == ["own", "added"]
        ''')
    run(pytester).assert_outcomes(passed=1)


# ---------------------------------------------------------------------------- capture_suspended
def test_capture_suspended_writes_to_the_terminal_while_a_test_is_captured(pytester):
    pytester.makepyfile('''
        import sys
        from pytest_loadhooks.plugin.pytest_compat import capture_suspended

        def test_global_capture(request):
            with capture_suspended(request.config):
                sys.stdout.write("THROUGH-GLOBAL\\n")
            print("CAUGHT-GLOBAL")

        def test_fixture_capture(request, capsys):
            with capture_suspended(request.config):
                sys.stdout.write("THROUGH-CAPSYS\\n")
            print("CAUGHT-CAPSYS")
            assert capsys.readouterr().out == "CAUGHT-CAPSYS\\n"
        ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # capture on (no -s)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*THROUGH-GLOBAL*", "*THROUGH-CAPSYS*"])
    result.stdout.no_fnmatch_line("*CAUGHT-*")


def test_capture_suspended_without_the_capture_plugin(pytester):
    pytester.makepyfile('''
        import sys
        from pytest_loadhooks.plugin.pytest_compat import capture_suspended

        def test_no_capture(request):
            assert request.config.pluginmanager.get_plugin("capturemanager") is None
            with capture_suspended(request.config):
                sys.stdout.write("WRITTEN\\n")
        ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:capture")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*WRITTEN*"])


# ---------------------------------------------------------------------------- reporter_isatty
def test_reporter_isatty_reads_pytest_8_0s_attribute_and_later_callables(pytester):
    # pytest 8.0.x sets ``reporter.isatty = file.isatty()`` (a bool); a load run there failed calling it. The
    # conftest gives this session's reporter exactly that form once collection is reported (the installed
    # pytest calls its own callable form while collecting), after reading the installed pytest's form.
    pytester.makeconftest('''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import reporter_isatty

        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(session):
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            print("INSTALLED:", reporter_isatty(reporter))
            reporter.isatty = bool(reporter.isatty())  # pytest 8.0.x's form
            print("AS-8.0:", reporter_isatty(reporter), "NONE:", reporter_isatty(None))
        ''')
    pytester.makepyfile("import pytest\n\n@pytest.mark.load_task\ndef test_noop():\n    pass\n")
    result = run(pytester, "--load-only", "--load-users=1", "--load-run-time=0.5s")
    result.stdout.fnmatch_lines(["INSTALLED: False", "AS-8.0: False NONE: False"])  # a pipe, not a terminal
    result.stdout.no_fnmatch_line("*not callable*")
    assert result.ret == 0, result.stdout.str()


# ---------------------------------------------------------------------------- functional tests as load tasks
def test_compile_selection_reports_a_bad_expression_in_one_line():
    assert pytest_compat.compile_selection("api and not slow") is not None
    with pytest.raises(ValueError, match=r"^invalid --load-tests expression '\(api': .*$"):
        pytest_compat.compile_selection("(api")


def selection_session(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makeconftest('''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import (compile_selection, fixture_scopes, selection_matches,
                                                           skip_reason)

        @pytest.fixture(scope="module")
        def shared():
            return 1

        def pytest_collection_modifyitems(items):
            expression = compile_selection("orders or (api and not slow)")
            for item in items:
                print("ITEM", item.name, selection_matches(expression, item), skip_reason(item),
                      sorted(fixture_scopes(item).items()))
        ''')
    pytester.makepyfile(test_m='''
        import pytest

        def test_orders(shared, tmp_path):
            pass

        @pytest.mark.api
        def test_fast():
            pass

        @pytest.mark.api
        @pytest.mark.slow
        @pytest.mark.skipif(True, reason="off here")
        def test_slow():
            pass
        ''')
    return run(pytester, "-W", "ignore::pytest.PytestUnknownMarkWarning")


def test_selection_matches_like_dash_k(pytester):
    result = selection_session(pytester)
    result.stdout.fnmatch_lines(["ITEM test_orders True *", "ITEM test_fast True *", "ITEM test_slow False *"])


def test_skip_reason_of_a_skipif_marker(pytester):
    result = selection_session(pytester)
    result.stdout.fnmatch_lines(["ITEM test_orders True None *", "ITEM test_fast True None *",
                                 "ITEM test_slow False off here *"])


def test_fixture_scopes_of_the_closure(pytester):
    result = selection_session(pytester)
    result.stdout.fnmatch_lines(["ITEM test_orders * *('shared', 'module')*('tmp_path', 'function')*",
                                 "ITEM test_fast True None []"])


def iteration_session(pytester: pytest.Pytester) -> None:
    # A test drives another module's test three times, as a load user does: function-scoped fixtures set up and
    # torn down each time on the copy's own definitions; the module fixture once, torn down by the book.
    pytester.makepyfile(test_target='''
        import pytest
        COUNTS = {"module": 0, "module_down": 0, "function": 0, "function_down": 0, "calls": 0}

        @pytest.fixture(scope="module")
        def per_module():
            COUNTS["module"] += 1
            yield
            COUNTS["module_down"] += 1

        @pytest.fixture
        def per_test(per_module, request):
            COUNTS["function"] += 1
            request.addfinalizer(lambda: COUNTS.__setitem__("function_down", COUNTS["function_down"] + 1))

        class TestTarget:
            def test_target(self, per_test):
                assert not hasattr(self, "used")
                self.used = True
                COUNTS["calls"] += 1
        ''')
    pytester.makepyfile(test_driver='''
        from pytest_loadhooks.plugin.pytest_compat import (FinalizerBook, forget_shared_finalizers, fresh_request,
                                                           iteration_item, keep_shared_fixtures)
        import test_target

        def test_driver(request):
            target = next(item for item in request.session.items if item.name == "test_target")
            with FinalizerBook(request.session) as book:
                copy = iteration_item(target)
                assert isinstance(copy, type(target)) and copy.nodeid == target.nodeid
                assert copy.ihook is copy.ihook  # looked up once per copy
                for turn in range(3):
                    fresh_request(copy)
                    # From the second turn the request starts with the module fixture resolved (its cached value).
                    assert ("per_module" in copy._request._fixture_defs) == (turn > 0)
                    copy.setup()
                    if turn == 0:
                        keep_shared_fixtures(copy)
                        assert [name for name, *_ in copy.shared_fixture_defs] == ["per_module"]
                    copy.runtest()
                    assert book.run_for(copy) == []
                    forget_shared_finalizers(copy)
                assert test_target.COUNTS == {"module": 1, "module_down": 0, "function": 3, "function_down": 3,
                                              "calls": 3}
                definitions = target._fixtureinfo.name2fixturedefs
                assert definitions["per_test"][-1].cached_result is None  # the original's were never used
                leftovers = [fin for fin in definitions["per_module"][-1]._finalizers
                             if getattr(getattr(fin, "func", None), "__name__", "") == "finish"]
                assert leftovers == []  # no teardown of an iteration's fixture is left on the shared one
                # A definition whose cached value is no longer the one kept (another cache key) is left to pytest.
                module_def = definitions["per_module"][-1]
                kept = module_def.cached_result
                module_def.cached_result = (kept[0], "another key", None)
                fresh_request(copy)
                assert "per_module" not in copy._request._fixture_defs
                module_def.cached_result = kept
                assert book.run_all() == []
            assert test_target.COUNTS["module_down"] == 1
        ''')
    result = run(pytester, "test_driver.py", "test_target.py")
    result.assert_outcomes(passed=2)


# The five work together (a load user's iteration uses them all); one session checks them, run under each name.
def test_iteration_item_has_its_own_function_scoped_definitions(pytester):
    iteration_session(pytester)


def test_fresh_request_gives_new_values_and_a_new_class_instance(pytester):
    iteration_session(pytester)


def test_forget_shared_finalizers_leaves_no_iteration_teardown_on_a_module_fixture(pytester):
    iteration_session(pytester)


def test_FinalizerBook_runs_iteration_and_shared_teardowns_off_pytests_stack(pytester):
    iteration_session(pytester)


def test_keep_shared_fixtures_hands_a_module_fixture_to_the_next_requests_while_its_value_holds(pytester):
    iteration_session(pytester)


def test_keep_shared_fixtures_leaves_out_what_depends_on_a_parameter(pytester):
    # Two parameter sets share one module-scoped definition whose value pytest re-creates per parameter: neither
    # it nor a fixture built on it may be handed on, or one copy would run with the other's value.
    pytester.makepyfile(test_params='''
        import pytest
        from pytest_loadhooks.plugin.pytest_compat import (FinalizerBook, forget_shared_finalizers, fresh_request,
                                                           iteration_item, keep_shared_fixtures)

        @pytest.fixture(scope="module")
        def server(request):
            return request.param

        @pytest.fixture(scope="module")
        def derived(server):
            return server * 2

        @pytest.fixture(scope="module")
        def plain():
            return "plain"

        @pytest.mark.parametrize("server", ["a", "b"], indirect=True)
        def test_target(derived, plain, server):
            assert derived == server * 2

        def test_driver(request):
            targets = [item for item in request.session.items if item.originalname == "test_target"]
            assert len(targets) == 2
            with FinalizerBook(request.session) as book:
                copies = [iteration_item(target) for target in targets]
                for turn in range(2):
                    for copy in copies:
                        fresh_request(copy)
                        copy.setup()
                        copy.runtest()  # asserts derived follows the copy's own parameter
                        if turn == 0:
                            keep_shared_fixtures(copy)
                            assert [name for name, *_ in copy.shared_fixture_defs] == ["plain"]
                        assert book.run_for(copy) == []
                        forget_shared_finalizers(copy)
                book.run_all()
        ''')
    result = run(pytester)
    result.assert_outcomes(passed=3)


def test_every_function_of_the_module_has_a_test_here():
    functions = [name for name, value in vars(pytest_compat).items()
                 if callable(value) and getattr(value, "__module__", None) == pytest_compat.__name__
                 and not name.startswith("_")]
    tested = {name.split("test_", 1)[1] for name in vars(sys.modules[__name__]) if name.startswith("test_")}
    assert functions
    for function in functions:
        assert any(name.startswith(function) for name in tested), f"no test named test_{function}_..."
