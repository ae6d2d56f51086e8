"""Writes the seed corpus of the `service_answer` fuzz target: one answer per insured person
of the mock's data set (mock-server/fixtures/default.toml), shaped as the mock serves them
(mock-server/src/endpoint/message.rs), plus the refusals, the system error, the single-record
object form, the 公費 list (the project's `ExtPublicExpenseInfoList`, with one malformed entry)
and the 4xx error envelope.

Run from the repository root: python3 fuzz/seeds/service_answers.py
"""
import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "fuzz/corpus/service_answer"
DATE, FACILITY, FILE_ID = "20261121", "1312345678", "desk1-1"


def header(reference="1", segment="1", error=None):
    h = {
        "ProcessExecutionTime": DATE + "103012",
        "QualificationConfirmationDate": DATE,
        "MedicalInstitutionCode": FACILITY,
        "ArbitraryFileIdentifier": FILE_ID,
        "ReferenceClassification": reference,
        "SegmentOfResult": segment,
        "CharacterCodeIdentifier": "0",
    }
    if error:
        h["ErrorCode"], h["ErrorMessage"] = error
    return h


def answer(body, **kw):
    return {"XmlMsg": {"MessageHeader": header(**kw), "MessageBody": body}}


def write(name, doc):
    (OUT / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


OUT.mkdir(parents=True, exist_ok=True)
fixtures = tomllib.loads((ROOT / "mock-server/fixtures/default.toml").read_text("utf-8"))
for entry in fixtures["insured"]:
    records = entry.get("ResultOfQualificationConfirmation", [])
    body = {"ProcessingResultStatus": "1", "QualificationValidity": entry["QualificationValidity"]}
    if records:
        body["ResultList"] = {"ResultOfQualificationConfirmation": records}
    if entry.get("ExtPublicExpenseInfo"):
        body["ExtPublicExpenseInfoList"] = {"ExtPublicExpenseInfo": entry["ExtPublicExpenseInfo"]}
    write(f"mock-{entry['id']}.json", answer(body, reference="2" if entry.get("numbers") else "1"))

first = next(e for e in fixtures["insured"] if e.get("ResultOfQualificationConfirmation"))
one = first["ResultOfQualificationConfirmation"][0]
write("single-record-object.json", answer({
    "ProcessingResultStatus": "1", "QualificationValidity": "1",
    "ProcessingResultCode": "PH0102", "ProcessingResultMessage": "電子証明書の有効期限が3か月以内です。",
    "ResultList": {"ResultOfQualificationConfirmation": one}}))
for code in ["PH1001", "PH1002", "PH1003", "PH1004", "PH1005"]:
    write(f"refused-{code}.json", answer({
        "ProcessingResultStatus": "2", "ProcessingResultCode": code,
        "ProcessingResultMessage": "健康保険証としての利用登録がされていません。"}))
write("public-expense-malformed.json", answer({
    "ProcessingResultStatus": "1", "QualificationValidity": "1",
    "ResultList": {"ResultOfQualificationConfirmation": one},
    "ExtPublicExpenseInfoList": {"ExtPublicExpenseInfo": [
        {"ExtPublicPayerNumber": "１２１３００１９", "ExtValidStartDate": "20260401"},
        {"ExtPublicPayerNumber": "54130019", "ExtMonthlyCapYen": 10000}]}}))
write("not-found.json", answer({"ProcessingResultStatus": "1", "QualificationValidity": "4"}, reference="2"))
write("system-error.json", answer({"ProcessingResultStatus": "2"}, segment="9",
      error=("PH9001", "システムエラーが発生しました。時間をおいて再度照会してください。")))
write("error-envelope.json", {"Error": {"Code": "PH4000", "Message": "要求が不正です。",
                                        "Detail": "missing element Birthdate"}})
