"""Every notebook in ``notebooks/`` executes headless, top to bottom, without a cell error.

Notebooks run in a fresh ``python3`` kernel (the one ipykernel installs into the venv's
``share/jupyter/kernels``, started with this interpreter) with ``AUCTIONLAB_NOTEBOOK_SMALL=1``
in its environment, which notebooks read to shrink whatever they simulate to toy size. A
notebook that needs more than ``CELL_TIMEOUT`` seconds for one cell fails. Nothing is
skipped: a missing kernel or notebook library is a failure, not a skip. Execution happens in
memory: the committed files are never rewritten here.

The notebooks are committed WITH outputs (``tools/execute-notebooks`` stores them): every code
cell of a committed notebook has run, in order, without an error output, at the size its
metadata (``metadata.auctionlab.ships``: ``"full"`` or ``"small"``) and its first cell state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell
KERNEL = "python3"


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {ROOT / 'notebooks'}"


def test_python3_kernel_is_this_interpreter():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL)  # NoSuchKernel if ipykernel is not installed
    exe = spec.argv[0]
    # jupyter_client replaces a bare "python"/"python3" by sys.executable when it starts the kernel
    assert (
        exe in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}")
        or Path(exe).resolve() == Path(sys.executable).resolve()
    ), spec.argv


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_has_outputs(path: Path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    size = nb.metadata.get("auctionlab", {}).get("ships")
    assert size in ("full", "small"), f"{path.name}: metadata.auctionlab.ships is {size!r}"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and ("full size" in first.source or "toy" in first.source), (
        f"{path.name}: the first cell must say at which size the shipped outputs were computed"
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    counts = [c.execution_count for c in code]
    # executed top to bottom in one kernel: 1, 2, ..., N (an unexecuted cell has None)
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}; run tools/execute-notebooks"
    )
    errors = [(i, o.get("ename")) for i, c in enumerate(code) for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs in code cells {errors}"
    assert any(c.outputs for c in code), f"{path.name}: no outputs stored"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), f"{path.name}: no figure stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("AUCTIONLAB_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    before = path.read_bytes()
    client.execute()  # raises CellExecutionError naming the cell and the traceback
    assert path.read_bytes() == before  # executed in memory, never written back
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
