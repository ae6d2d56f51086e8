//! Batch checks (一括照会) from a CSV file, for a clinic whose receipt computer does not write
//! batch request files: `onshi-desk interop batch FILE.csv`.
//!
//! The input is what a clerk exports from a spreadsheet: a header row naming the columns
//! `保険者番号,記号,番号,枝番,生年月日` (any order; 記号 and 枝番 may be left out), one patient per
//! row. Excel writes Shift_JIS (CP932) or UTF-8 with a byte order mark; both are detected, as is
//! plain UTF-8. The rows are answered exactly as a batch request file would be
//! ([`super::RequestProcessor::answer_batch`]): each patient checked and journaled in order, a
//! bad row an error row. The output CSV follows the journal's CSV rules (Japanese header, CRLF,
//! formula-safe fields, `[journal] csv_encoding`).

use super::document::{ErrorResult, SearchInfo};
use super::handler::RowOutcome;
use crate::domain::text::TextEncoding;
use crate::journal::csv_field;

/// The input columns, by their header names.
pub const INPUT_COLUMNS: [&str; 5] = ["保険者番号", "記号", "番号", "枝番", "生年月日"];

/// The output header.
pub const OUTPUT_HEADER: [&str; 12] = [
    "行",
    "保険者番号",
    "記号",
    "番号",
    "枝番",
    "生年月日",
    "確認結果",
    "負担割合",
    "氏名",
    "カナ氏名",
    "受付記録番号",
    "エラー",
];

/// The most rows one file may hold (a day's appointments is a few hundred).
pub const MAX_ROWS: usize = 2_000;

/// Why an input CSV cannot be read at all (a bad row is not this: it is an error row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is neither UTF-8 nor Shift_JIS")]
    Encoding,
    #[error("the file is empty: a header row is needed")]
    Empty,
    #[error("the header row lacks the column {0}")]
    MissingColumn(&'static str),
    #[error("line {0}: a quoted field is not closed")]
    Unclosed(usize),
    #[error("more than {MAX_ROWS} rows")]
    TooManyRows,
}

impl CsvError {
    /// What the clerk is told.
    pub fn desk_message(&self) -> String {
        match self {
            CsvError::Encoding => {
                "CSVファイルの文字コードを判別できません(UTF-8 または Shift_JIS で保存してください)。"
                    .into()
            }
            CsvError::Empty => "CSVファイルが空です。1行目に見出しが必要です。".into(),
            CsvError::MissingColumn(c) => format!("CSVファイルの見出しに「{c}」の列がありません。"),
            CsvError::Unclosed(line) => format!("CSVファイルの{line}行目の引用符が閉じていません。"),
            CsvError::TooManyRows => format!("CSVファイルの行が多すぎます({MAX_ROWS}行まで)。"),
        }
    }
}

/// Decodes the CSV: a UTF-8 byte order mark, else valid UTF-8, else strict Shift_JIS.
pub fn decode_csv(bytes: &[u8]) -> Result<(String, TextEncoding), CsvError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_owned(), TextEncoding::Utf8Bom))
            .map_err(|_| CsvError::Encoding);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_owned(), TextEncoding::Utf8));
    }
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| (s.into_owned(), TextEncoding::ShiftJis))
        .ok_or(CsvError::Encoding)
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes as `""` and
/// line breaks; CRLF or LF). Blank lines are skipped.
fn records(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let mut out = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1usize;
    let mut quote_line = 0usize;
    let mut chars = text.chars().peekable();
    let finish = |record: &mut Vec<String>, field: &mut String, out: &mut Vec<Vec<String>>| {
        record.push(std::mem::take(field));
        let r = std::mem::take(record);
        if !(r.len() == 1 && r[0].trim().is_empty()) {
            out.push(r);
        }
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                quote_line = line;
            }
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                finish(&mut record, &mut field, &mut out);
                if out.len() > MAX_ROWS + 1 {
                    return Err(CsvError::TooManyRows);
                }
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError::Unclosed(quote_line));
    }
    if !field.is_empty() || !record.is_empty() {
        finish(&mut record, &mut field, &mut out);
    }
    if out.len() > MAX_ROWS + 1 {
        return Err(CsvError::TooManyRows);
    }
    Ok(out)
}

/// Reads an input CSV into one search per row (fields as written: the same parsers as a
/// request file check them later, so a bad row becomes an error row) and the encoding found.
pub fn read_csv(bytes: &[u8]) -> Result<(Vec<SearchInfo>, TextEncoding), CsvError> {
    let (text, encoding) = decode_csv(bytes)?;
    let mut rows = records(&text)?.into_iter();
    let header = rows.next().ok_or(CsvError::Empty)?;
    let position = |name: &str| {
        header
            .iter()
            .position(|h| crate::domain::text::normalize_width(h) == name)
    };
    let column = |name: &'static str, required: bool| match position(name) {
        Some(i) => Ok(Some(i)),
        None if required => Err(CsvError::MissingColumn(name)),
        None => Ok(None),
    };
    let [insurer, symbol, number, branch, birth] = INPUT_COLUMNS;
    let insurer = column(insurer, true)?;
    let symbol = column(symbol, false)?;
    let number = column(number, true)?;
    let branch = column(branch, false)?;
    let birth = column(birth, true)?;
    let cell = |row: &[String], i: Option<usize>| -> Option<String> {
        i.and_then(|i| row.get(i))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let infos = rows
        .map(|row| SearchInfo {
            insurer_number: cell(&row, insurer),
            insured_card_symbol: cell(&row, symbol),
            insured_identification_number: cell(&row, number),
            insured_branch_number: cell(&row, branch),
            birthdate: cell(&row, birth),
            limit_application_certificate_related_cons_flg: None,
            arbitrary_identifier: None,
        })
        .collect();
    Ok((infos, encoding))
}

/// The output CSV as UTF-8 text (CRLF, the journal's field rules); `csv_bytes` of the journal
/// makes the file's bytes in the configured encoding.
pub fn result_csv(rows: &[SearchInfo], outcomes: &[RowOutcome]) -> String {
    let line = |fields: Vec<String>| -> String {
        let mut l = fields
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",");
        l.push_str("\r\n");
        l
    };
    let mut out = line(OUTPUT_HEADER.iter().map(|s| s.to_string()).collect());
    for (i, (row, outcome)) in rows.iter().zip(outcomes).enumerate() {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut fields = vec![
            (i + 1).to_string(),
            text(&row.insurer_number),
            text(&row.insured_card_symbol),
            text(&row.insured_identification_number),
            text(&row.insured_branch_number),
            text(&row.birthdate),
        ];
        match outcome {
            RowOutcome::Checked { verdict, id } => {
                let primary = verdict.primary();
                fields.extend([
                    verdict.desk_message(),
                    verdict.ratio.map(|r| r.label()).unwrap_or_default(),
                    primary.and_then(|q| q.name.clone()).unwrap_or_default(),
                    primary
                        .and_then(|q| q.name_kana.clone())
                        .unwrap_or_default(),
                    id.to_string(),
                    ErrorResult::of_verdict(verdict.kind)
                        .map(|e| e.message().to_owned())
                        .unwrap_or_default(),
                ]);
            }
            RowOutcome::Failed { message, .. } => {
                fields.extend([
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    message.clone(),
                ]);
            }
        }
        out.push_str(&line(fields));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_any_excel_encoding_is_read_by_its_header() {
        let text = "番号,保険者番号,生年月日,枝番\r\n1024,01130012,19800401,0\r\n\"12,3\",\"0611\"\"\",S55.4.1,\r\n\r\n";
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let sjis = encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
        for (bytes, enc) in [
            (bom, TextEncoding::Utf8Bom),
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
            (sjis, TextEncoding::ShiftJis),
        ] {
            let (rows, found) = read_csv(&bytes).expect("csv");
            assert_eq!(found, enc);
            assert_eq!(rows.len(), 2, "blank line skipped");
            assert_eq!(rows[0].insurer_number.as_deref(), Some("01130012"));
            assert_eq!(rows[0].insured_branch_number.as_deref(), Some("0"));
            assert_eq!(rows[0].insured_card_symbol, None);
            assert_eq!(
                rows[1].insured_identification_number.as_deref(),
                Some("12,3")
            );
            assert_eq!(rows[1].insurer_number.as_deref(), Some("0611\""));
        }
    }

    #[test]
    fn unreadable_csv_files_say_why() {
        assert_eq!(
            read_csv("保険者番号,番号\r\n1,2\r\n".as_bytes()).map(|_| ()),
            Err(CsvError::MissingColumn("生年月日"))
        );
        assert_eq!(read_csv(b"").map(|_| ()), Err(CsvError::Empty));
        assert_eq!(
            read_csv(b"\xEF\xBB\xBF\xFF\xFE").map(|_| ()),
            Err(CsvError::Encoding)
        );
        assert!(matches!(
            read_csv("保険者番号,番号,生年月日\r\n\"1,2,3\r\n".as_bytes()),
            Err(CsvError::Unclosed(2))
        ));
        assert!(CsvError::MissingColumn("番号")
            .desk_message()
            .contains("番号"));
    }
}
