"""Build the optional compiled stream parser.

The Cython extension (src/_speedups/_speedups.pyx -> protocol._speedups) is
built when Cython and a C compiler are present.  When they are not, or when
PROTOCOL_NO_EXTENSIONS=1 is set, the pure-Python package is installed alone:
the switch in protocol/_stream.py falls back to the Python twin.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the extension, but never fail the install because of it."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, broken toolchain, ...
            self._warn(exc)

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(exc)

    @staticmethod
    def _warn(exc: BaseException) -> None:
        sys.stderr.write(
            "WARNING: the compiled stream parser could not be built (%s); "
            "installing the pure-Python package only.\n" % (exc,)
        )


def extensions():  # type: ignore[no-untyped-def]
    if os.environ.get("PROTOCOL_NO_EXTENSIONS"):
        return []
    if sys.implementation.name != "cpython":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        sys.stderr.write("WARNING: Cython is not installed; skipping the compiled parser.\n")
        return []
    from setuptools import Extension

    ext = Extension(
        "protocol._speedups",
        ["src/_speedups/_speedups.pyx"],
        extra_compile_args=["-O3"],
    )
    return cythonize(
        [ext],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
