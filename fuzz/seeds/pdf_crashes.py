"""Writes the hand-made crash inputs of the `portal_pdf` target into
fuzz/pending/portal_pdf/ (see docs/fuzzing.md): a Form XObject that draws itself
(unbounded recursion) and a doubly deflated content stream that inflates to 1 GiB.

Run from the repository root: python3 fuzz/seeds/pdf_crashes.py
"""
import pathlib
import sys
import zlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from small_pdfs import FONT, pdf, stream  # noqa: E402  (also rewrites the small seeds)

OUT = pathlib.Path(__file__).resolve().parents[2] / "fuzz/pending/portal_pdf"
OUT.mkdir(parents=True, exist_ok=True)
(OUT / "recursive-form-xobject.pdf").write_bytes(pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >> >>",
    stream(b"", b"q /X1 Do Q\n"),
    FONT,
    stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] "
           b"/Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >>",
           b"BT /F1 12 Tf (A) Tj ET /X1 Do\n"),
]))
(OUT / "flate-bomb.pdf").write_bytes(pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
    stream(b"/Filter [/FlateDecode /FlateDecode]",
           zlib.compress(zlib.compress(b"0" * (1 << 30), 9), 9)),
    FONT,
]))
