"""Importing a contrib user whose client library is missing fails with one line naming the extra."""

from __future__ import annotations


def test_missing_client_library_names_the_extra(pytester):
    pytester.makepyfile(test_imports='''
        import importlib
        import sys
        import pytest

        CASES = [("postgres", "psycopg", "postgres"), ("mqtt", "paho", "mqtt"),
                 ("socketio", "socketio", "socketio"), ("dns", "dns", "dns")]

        @pytest.mark.parametrize("module, library, extra", CASES)
        def test_import_names_the_extra(module, library, extra, monkeypatch):
            # As if the library were not installed: a None entry makes its import fail.
            monkeypatch.setitem(sys.modules, library, None)
            with pytest.raises(ImportError) as info:
                importlib.import_module(f"pytest_loadhooks.contrib.{module}")
            message = str(info.value)
            assert "\\n" not in message
            assert message.startswith(f"pytest_loadhooks.contrib.{module} needs the '")
            assert message.endswith(f"which is not installed: pip install 'pytest-loadhooks[{extra}]'")

        def test_a_broken_installed_library_is_not_hidden():
            from pytest_loadhooks.contrib._extras import MissingExtraError, require
            with pytest.raises(ModuleNotFoundError) as info:
                require("broken_library", "x", "feature")  # installed, but its own dependency is missing
            assert info.value.name == "its_missing_dependency"
            assert not isinstance(info.value, MissingExtraError)
    ''')
    pytester.makepyfile(broken_library="import its_missing_dependency\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=5)
