"""Importing a contrib user whose client library is missing fails with one line naming the extra (issue 23).

The libraries are installed here, so the session under test makes each one unimportable the way
Python itself does for a module it cannot find (``sys.modules[name] = None`` makes its import fail).
Every contrib user goes through ``contrib/_extras.py``'s ``require``, so the line is the same for all.
"""

from __future__ import annotations

# contrib module -> (the library made missing, the extra the error must name)
CASES = {
    "postgres": ("psycopg", "postgres"),
    "mqtt": ("paho", "mqtt"),
    "socketio": ("socketio", "socketio"),
    "dns": ("dns", "dns"),
    "mongodb": ("pymongo", "mongodb"),
    "milvus": ("pymilvus", "milvus"),
    "qdrant": ("qdrant_client", "qdrant"),
    "oai": ("openai", "openai"),
}


def test_missing_client_library_names_the_extra(pytester):
    pytester.makepyfile(test_imports=f'''
        import importlib
        import sys
        import pytest

        CASES = {CASES!r}

        @pytest.mark.parametrize("module", sorted(CASES))
        def test_import_names_the_extra(module, monkeypatch):
            library, extra = CASES[module]
            monkeypatch.setitem(sys.modules, library, None)  # as if the library were not installed
            with pytest.raises(ImportError) as info:
                importlib.import_module(f"pytest_loadhooks.contrib.{{module}}")
            assert str(info.value) == (f"pytest_loadhooks.contrib.{{module}} needs the '{{library}}' package, "
                                       f"which is not installed: pip install 'pytest-loadhooks[{{extra}}]'")

        def test_a_broken_installed_library_is_not_hidden():
            from pytest_loadhooks.contrib._extras import MissingExtraError, require
            with pytest.raises(ModuleNotFoundError) as info:
                require("broken_library", "x", "feature")  # installed, but its own dependency is missing
            assert info.value.name == "its_missing_dependency"
            assert not isinstance(info.value, MissingExtraError)
    ''')
    pytester.makepyfile(broken_library="import its_missing_dependency\n")
    # What a user sees: a test module importing a user whose library is missing fails to collect with the line.
    pytester.makepyfile(test_user_module="from pytest_loadhooks.contrib.mongodb import MongoDBUser\n")
    pytester.makeconftest("import sys\nsys.modules['pymongo'] = None  # only the collection check needs it\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(passed=len(CASES) + 1, errors=1)
    line = ("MissingExtraError: pytest_loadhooks.contrib.mongodb needs the 'pymongo' package, which is not "
            "installed: pip install 'pytest-loadhooks[mongodb]'")
    assert line in result.stdout.str(), result.stdout.str()[-3000:]
