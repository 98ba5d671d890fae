"""Build the optional compiled stream parser.

The Cython extension (src/_speedups/_speedups.pyx -> protocol._core._speedups) is
built when Cython and a C compiler are present.  When they are not, or when
PROTOCOL_NO_EXTENSIONS=1 is set, the pure-Python package is installed alone
(and the wheel is tagged py3-none-any): the switch in protocol/_stream.py
falls back to the Python twin.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

try:  # setuptools >= 70.1 carries bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

# What the Python twin costs, from the README's measurements: said once,
# plainly, whenever the compiled parser is not built.
COST = (
    "The pure-Python twin of the stream parser was installed instead.  It behaves "
    "identically, but decodes container output about 100x slower in memory (about "
    "10x slower end to end when the client, not the daemon, is the bottleneck) and "
    "JSON streams 3x to 7x slower.  To get the compiled parser, install a C compiler and the Python "
    "headers (Debian: apt-get install gcc python3-dev) and reinstall "
    "docker-protocol."
)

# Set by build_ext when the extension was attempted and failed, read by
# bdist_wheel: a wheel without the compiled module must not carry a
# platform tag (it would be refused on other platforms for no reason).
_EXTENSION_FAILED = []


def _banner(reason):
    line = "=" * 78
    text = "\n%s\nWARNING: docker-protocol: the compiled stream parser was not built:\n  %s\n%s\n%s\n\n" % (
        line, reason, COST, line)
    sys.stderr.write(text)
    sys.stderr.flush()
    # pip captures a build's output and shows it only when the build fails
    # (or with -v): a successful fallback would go unnoticed.  When pip runs
    # on a terminal, say it there as well.
    if not sys.stderr.isatty():
        try:
            with open("/dev/tty", "w") as tty:
                tty.write(text)
        except OSError:
            pass  # no controlling terminal (CI, a service): the log has it


class OptionalBuildExt(build_ext):
    """Build the extension, but never fail the install because of it."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, broken toolchain, ...
            self._failed(exc)

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed(exc)

    @staticmethod
    def _failed(exc: BaseException) -> None:
        _EXTENSION_FAILED.append(exc)
        _banner("%s: %s" % (type(exc).__name__, exc))


class MaybePureWheel(bdist_wheel):
    """Tag the wheel py3-none-any when no compiled module went into it."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        if _EXTENSION_FAILED or not self.distribution.has_ext_modules():
            self.root_is_pure = True
            return ("py3", "none", "any")
        return super().get_tag()


def extensions():  # type: ignore[no-untyped-def]
    if os.environ.get("PROTOCOL_NO_EXTENSIONS"):
        sys.stderr.write("docker-protocol: PROTOCOL_NO_EXTENSIONS is set; building the pure-Python package.\n")
        return []
    if sys.implementation.name != "cpython":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _banner("Cython is not installed")
        return []
    from setuptools import Extension

    # Linux: strip the module at link time (-s): the symbols and debug
    # sections are two thirds of its size and no user needs them.
    link_args = ["-Wl,-s"] if sys.platform.startswith("linux") else []
    ext = Extension(
        "protocol._core._speedups",
        ["src/_speedups/_speedups.pyx"],
        extra_compile_args=["-O3"],
        extra_link_args=link_args,
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


setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt, "bdist_wheel": MaybePureWheel},
)
