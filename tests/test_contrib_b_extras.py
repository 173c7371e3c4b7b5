"""Without its client library, each other-system user says in one line which extra to install (issue 23).

The libraries are installed here, so the session under test makes each one unimportable the way
Python itself does for a module it cannot find (``sys.modules[name] = None`` raises ImportError).
"""

from __future__ import annotations

import textwrap

CASES = {  # module -> (the library made missing, the extra the error must name)
    "mongodb": ("pymongo", "mongodb"),
    "milvus": ("pymilvus", "milvus"),
    "qdrant": ("qdrant_client", "qdrant"),
    "oai": ("openai", "openai"),
}


def test_missing_client_library_names_the_extra(pytester):
    missing = [library for library, _ in CASES.values()]
    pytester.makeconftest(textwrap.dedent(f'''
        import sys
        for name in {missing!r}:
            sys.modules[name] = None  # what an uninstalled library looks like to import
    '''))
    for module in CASES:
        pytester.makepyfile(**{f"test_uses_{module}": f"from pytest_loadhooks.contrib.{module} import *\n"})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str()
    for module, (library, extra) in CASES.items():
        line = (f"ImportError: pytest_loadhooks.contrib.{module} needs {library.replace('_', '-')} "
                f"(import of {library} halted; None in sys.modules): pip install 'pytest-loadhooks[{extra}]'")
        assert line in output, (line, output[-4000:])
