#!/usr/bin/env python3
"""Seeds for the receipt_request fuzz target (fuzz/corpus/receipt_request/).

Each file is one byte choosing the job and the result encoding (bit 0: batch, bit 1: UTF-8
results; see onshi_desk::fuzzing::receipt_request), then a request file as a receipt computer
writes it: single and batch, Shift_JIS and UTF-8 (with and without a BOM), by card, with bad
fields, and the hostile shapes the reader refuses (DTD, deep nesting, truncation).
"""
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "corpus", "receipt_request")

def info(insurer="01130012", symbol="5012345", number="1024", branch="00", birth="19800401"):
    return ("<QualificationConfirmSearchInfo>"
            f"<InsurerNumber>{insurer}</InsurerNumber><InsuredCardSymbol>{symbol}</InsuredCardSymbol>"
            f"<InsuredIdentificationNumber>{number}</InsuredIdentificationNumber>"
            f"<InsuredBranchNumber>{branch}</InsuredBranchNumber><Birthdate>{birth}</Birthdate>"
            "<LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>"
            "</QualificationConfirmSearchInfo>")

def doc(body, encoding="Shift_JIS", classification="2", code="1"):
    return (f'<?xml version="1.0" encoding="{encoding}" standalone="no"?>\r\n'
            "<XmlMsg><MessageHeader><MedicalInstitutionCode>1312345678</MedicalInstitutionCode>"
            f"<ArbitraryFileIdentifier>0001</ArbitraryFileIdentifier>"
            f"<ReferenceClassification>{classification}</ReferenceClassification>"
            f"<CharacterCodeIdentifier>{code}</CharacterCodeIdentifier></MessageHeader>"
            f"<MessageBody>{body}</MessageBody></XmlMsg>\r\n")

SEEDS = {
    "single-sjis": (0, doc(info()).encode("cp932")),
    "single-utf8": (2, doc(info(), "UTF-8", code="0").encode()),
    "single-bom": (2, b"\xef\xbb\xbf" + doc(info(), "UTF-8", code="0").encode()),
    "single-kokuho": (0, doc(info("  138057", "世01", "123456", "", "19880620")).encode("cp932")),
    "single-fullwidth": (0, doc(info("０１１３００１２", "５０１２３４５", "１０２４", "００", "昭和55年4月1日")).encode("cp932")),
    "single-bad-fields": (0, doc(info("0113001", "", "", "x", "19801301")).encode("cp932")),
    "single-by-card": (0, doc(info(), classification="1").encode("cp932")),
    "batch-sjis": (1, doc(info() + info("39402011", "", "12345678", "", "19490303") + info(birth="bad")).encode("cp932")),
    "batch-utf8": (3, doc(info() * 3, "UTF-8", code="0").encode()),
    "hostile-dtd": (0, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><XmlMsg>&b;</XmlMsg>'),
    "hostile-deep": (0, b"<XmlMsg>" + b"<a>" * 200 + b"</a>" * 200 + b"</XmlMsg>"),
    "truncated": (0, doc(info()).encode("cp932")[:150]),
}

os.makedirs(OUT, exist_ok=True)
for name, (first, body) in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([first]) + body)
print(f"{len(SEEDS)} seeds in {os.path.normpath(OUT)}")
