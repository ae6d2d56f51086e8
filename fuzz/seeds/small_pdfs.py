"""Writes small, uncompressed PDFs to the `portal_pdf` seed corpus: readable objects the fuzzer
can mutate field by field (the project's samples in tests/fixtures/portal/ have compressed,
embedded fonts, where a mutation mostly just breaks the compression).

Run from the repository root: python3 fuzz/seeds/small_pdfs.py
"""
import pathlib

OUT = pathlib.Path(__file__).resolve().parents[2] / "fuzz/corpus/portal_pdf"


def pdf(objects):
    """A PDF with a correct xref table from the bodies of objects 1..n (1 is the catalog)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(dictionary, data):
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
TEXT = (b"BT /F1 12 Tf 72 720 Td (Insurer number) Tj 200 0 Td (01130012) Tj ET\n"
        b"BT /F1 12 Tf 72 700 Td [(Sym) -20 (bol)] TJ 200 0 Td (5012345) Tj ET\n"
        b"BT /F1 12 Tf 1 0 0 1 72 680 Tm (Number) ' (1024) \" ET\n")

OUT.mkdir(parents=True, exist_ok=True)
(OUT / "small-text.pdf").write_bytes(pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
    stream(b"", TEXT),
    FONT,
]))
# A Form XObject drawn from the page, which itself draws text: the recursion the parser walks.
(OUT / "small-form-xobject.pdf").write_bytes(pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >> >>",
    stream(b"", b"q /X1 Do Q\n"),
    FONT,
    stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] "
           b"/Resources << /Font << /F1 5 0 R >> >>", TEXT),
]))
# Two pages in a nested page tree, one with a content array, and a ToUnicode CMap.
CMAP = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"2 beginbfchar <41> <4FDD> <42> <967A> endbfchar\n"
        b"1 beginbfrange <30> <39> <FF10> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end\n")
(OUT / "small-tounicode-pages.pdf").write_bytes(pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R 8 0 R] /Count 2 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 7 0 R] "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
    stream(b"", b"BT /F1 12 Tf 72 720 Td (AB) Tj ET\n"),
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
    stream(b"", CMAP),
    stream(b"", b"BT /F1 12 Tf 300 720 Td (0113) Tj ET\n"),
    b"<< /Type /Pages /Parent 2 0 R /Kids [9 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 8 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
]))
