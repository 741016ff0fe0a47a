"""The two OpenBLAS environments every side-by-side benchmark reports (scripts/bench-mnist, bench-cnn,
bench-gpt).

OpenBLAS picks its kernels once, when it is loaded: from OPENBLAS_CORETYPE if the environment sets
it, else from CPUID. Our newest machine kind sets OPENBLAS_CORETYPE=Haswell (AVX2 kernels) although
its CPU has AVX-512, and PyTorch's GEMMs run in the same OpenBLAS, so a ratio means little without
saying which kernels both sides had. Each benchmark therefore runs twice, in child processes:
  as-is   the environment as it comes (whatever OPENBLAS_CORETYPE it sets, or none);
  unset   OPENBLAS_CORETYPE removed for both sides (OpenBLAS chooses by CPUID).
Neither run rewrites a variable the environment set: "unset" only removes it, for that child.
"""
import os
import subprocess
import sys

CHOICES = ("both", "as-is", "unset")


def add_argument(parser):
    parser.add_argument("--environment", choices=CHOICES, default="both",
                        help="OpenBLAS environment: as it comes, with OPENBLAS_CORETYPE unset, or both (default)")


def run_each(args, name):
    """With --environment both, re-runs this script once per environment and exits with the worse
    status; otherwise returns and the caller measures in the environment it was given."""
    if args.environment != "both":
        given = os.environ.get("OPENBLAS_CORETYPE")
        print(f"== {name}: OpenBLAS environment {args.environment} (OPENBLAS_CORETYPE={given or 'unset'})", flush=True)
        return
    status = 0
    for environment in ("as-is", "unset"):
        env = dict(os.environ)
        if environment == "unset":
            env.pop("OPENBLAS_CORETYPE", None)
        argv = [sys.executable, sys.argv[0], *sys.argv[1:], "--environment", environment]
        status = max(status, subprocess.run(argv, env=env).returncode)
        print(flush=True)
    sys.exit(status)


def output_path(path, args):
    """Where this environment's --json/--plot goes: PATH as given for as-is, PATH-unset.EXT for unset."""
    if not path or args.environment != "unset":
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}-unset{ext}"


def native_blas_core():
    """The kernels OpenBLAS picks in this environment (the library minidl and Debian's PyTorch both
    load), or None when it cannot be loaded here."""
    import ctypes
    import ctypes.util
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        try:
            lib = ctypes.CDLL(name)
        except (OSError, TypeError):
            continue
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    return None


def torch_blas_env(minidl_core):
    """What PyTorch's OpenBLAS must be told so that both sides run the same kernels: nothing, unless
    minidl chose other kernels than OpenBLAS would (its CLI re-executes itself with better ones when
    OpenBLAS falls back to Prescott on a CPU it does not know) and the environment named none."""
    if not minidl_core or "OPENBLAS_CORETYPE" in os.environ or minidl_core == native_blas_core():
        return {}
    return {"OPENBLAS_CORETYPE": minidl_core}
