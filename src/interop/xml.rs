//! The codec of the receipt computer's files: `XmlMsg` documents in Shift_JIS or UTF-8.
//!
//! Writing: a serde type serialized by quick-xml (which escapes every text; nothing here
//! escapes by hand), the XML declaration naming the encoding, and the bytes made by the one
//! encoder of the crate ([`encode_text`], the WHATWG Shift_JIS of `encoding_rs`, i.e. CP932).
//! A character Shift_JIS cannot hold (外字 such as 𠮷) is written as `●`, as the national
//! system itself writes it, and reported by element so the caller can log it without the
//! patient's name.
//!
//! Reading: a request file comes from another program over a shared folder, so it is checked
//! before it is believed. In this order: a size cap; the encoding from the byte order mark or
//! the XML declaration (Shift_JIS or UTF-8, nothing else); strict decoding (a malformed byte
//! is an error, never a replacement character); no `<!DOCTYPE` or `<!ENTITY` anywhere
//! (refused before parsing, so no entity is ever expanded and nothing external is fetched);
//! a structural pass with a nesting-depth cap and an element-count cap; only then serde.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::text::{encode_text, TextEncoding};

/// The encoding of a file exchanged with the receipt computer.
///
/// Shift_JIS is what the national system's files use (`CharacterCodeIdentifier` `1`) and what
/// receipt computers read; UTF-8 (`0`) is offered for those that read it. Which one a given
/// receipt computer needs is **unconfirmed**: a setting (`[interop] encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DocumentEncoding {
    /// Shift_JIS (CP932), `CharacterCodeIdentifier` `1`.
    #[default]
    ShiftJis,
    /// UTF-8 without a byte order mark, `CharacterCodeIdentifier` `0`.
    Utf8,
}

impl DocumentEncoding {
    /// The name in the XML declaration.
    pub fn declared_name(self) -> &'static str {
        match self {
            DocumentEncoding::ShiftJis => "Shift_JIS",
            DocumentEncoding::Utf8 => "UTF-8",
        }
    }

    /// `CharacterCodeIdentifier` (文字コード識別): `1` Shift_JIS, `0` UTF-8.
    pub fn character_code(self) -> &'static str {
        match self {
            DocumentEncoding::ShiftJis => "1",
            DocumentEncoding::Utf8 => "0",
        }
    }

    /// The name in the configuration (`shift_jis`, `utf-8`).
    pub fn setting_name(self) -> &'static str {
        match self {
            DocumentEncoding::ShiftJis => "shift_jis",
            DocumentEncoding::Utf8 => "utf-8",
        }
    }

    /// Reads an encoding name as the configuration or an XML declaration spells it (case and
    /// `-`/`_` ignored; `sjis`, `cp932`, `windows-31j` are Shift_JIS).
    pub fn from_name(name: &str) -> Option<DocumentEncoding> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        match n.as_str() {
            "shift-jis" | "sjis" | "cp932" | "windows-31j" | "x-sjis" | "ms932" => {
                Some(DocumentEncoding::ShiftJis)
            }
            "utf-8" | "utf8" => Some(DocumentEncoding::Utf8),
            _ => None,
        }
    }

    /// The encoding of a `[interop] encoding` setting (the configuration accepts only
    /// Shift_JIS and UTF-8; a UTF-8 with BOM would be written as plain UTF-8).
    pub fn from_setting(setting: TextEncoding) -> DocumentEncoding {
        match setting {
            TextEncoding::ShiftJis => DocumentEncoding::ShiftJis,
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => DocumentEncoding::Utf8,
        }
    }

    fn text_encoding(self) -> TextEncoding {
        match self {
            DocumentEncoding::ShiftJis => TextEncoding::ShiftJis,
            DocumentEncoding::Utf8 => TextEncoding::Utf8,
        }
    }
}

/// Characters written as `●` in one element, for the log (the element and how many; never
/// the text itself, which is a patient's name or address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The element's name (`Name`, `InsuredName`, `Address`, …).
    pub element: String,
    /// How many characters were replaced in it (all its occurrences together).
    pub count: usize,
}

/// A document ready to write: its bytes, and what the encoding could not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedDocument {
    pub bytes: Vec<u8>,
    pub replaced: Vec<Replacement>,
}

/// Why a document could not be written or read. Every message is precise English for the log
/// and the `rejected` note; the receipt computer is answered in Japanese by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("file is empty")]
    Empty,
    #[error("unsupported encoding {0:?}: only Shift_JIS and UTF-8 are read")]
    UnsupportedEncoding(String),
    #[error("UTF-16 byte order mark: only Shift_JIS and UTF-8 are read")]
    Utf16,
    #[error("malformed {encoding} at byte {offset}")]
    Malformed {
        encoding: &'static str,
        offset: usize,
    },
    #[error("document type declarations and entity declarations are refused (<!{0}>)")]
    Declaration(&'static str),
    #[error("elements nested deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error("not well-formed XML: {0}")]
    NotWellFormed(String),
    #[error("truncated document: {0} element(s) left open")]
    Truncated(usize),
    #[error("the root element is {found:?}, expected {expected:?}")]
    WrongRoot {
        found: String,
        expected: &'static str,
    },
    #[error("document does not fit its schema: {0}")]
    Schema(String),
    #[error("serializing the document: {0}")]
    Serialize(String),
}

/// Hard limits on a request file (a real one is a few kilobytes, 5 levels deep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest file read (`[interop] max_request_bytes`, default 1 MiB).
    pub max_bytes: usize,
    /// Deepest nesting of elements.
    pub max_depth: usize,
    /// Most elements in one file (a batch of a few hundred patients fits).
    pub max_elements: usize,
}

/// The default of `[interop] max_request_bytes`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1024 * 1024;

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_depth: 16,
            max_elements: 20_000,
        }
    }
}

/// The root element of every file.
pub const ROOT: &str = "XmlMsg";

/// Serializes `document` as the root [`ROOT`] in `encoding`, with the declaration that names
/// it. Characters the encoding lacks become `●` and are reported by element.
pub fn write_document<T: Serialize>(
    document: &T,
    encoding: DocumentEncoding,
) -> Result<EncodedDocument, XmlError> {
    let mut body = String::new();
    let mut serializer = quick_xml::se::Serializer::with_root(&mut body, Some(ROOT))
        .map_err(|e| XmlError::Serialize(e.to_string()))?;
    serializer.indent(' ', 2);
    document
        .serialize(serializer)
        .map_err(|e| XmlError::Serialize(e.to_string()))?;
    let replaced = match encoding {
        DocumentEncoding::ShiftJis => unmappable_by_element(&body)?,
        DocumentEncoding::Utf8 => Vec::new(),
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n{body}\n",
        encoding.declared_name()
    );
    let encoded = encode_text(&text, encoding.text_encoding());
    Ok(EncodedDocument {
        bytes: encoded.bytes,
        replaced,
    })
}

/// Which elements of our own serialized `xml` hold characters Shift_JIS lacks, and how many.
fn unmappable_by_element(xml: &str) -> Result<Vec<Replacement>, XmlError> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut open: Vec<String> = Vec::new();
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                open.push(e.name().as_ref().to_owned());
            }
            Ok(Event::End(_)) => {
                open.pop();
            }
            Ok(Event::Text(t)) => {
                let text = t.xml10_content();
                let n = encode_text(&text, TextEncoding::ShiftJis).replaced.len();
                if n > 0 {
                    let element = open.last().cloned().unwrap_or_else(|| ROOT.to_owned());
                    *counts.entry(element).or_default() += n;
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(XmlError::Serialize(e.to_string())),
        }
    }
    Ok(counts
        .into_iter()
        .map(|(element, count)| Replacement { element, count })
        .collect())
}

/// Decodes a request file to text: the size cap, the encoding from the byte order mark or the
/// declaration, strict decoding. Returns the text and the encoding it was in.
pub fn decode(bytes: &[u8], limits: &ReadLimits) -> Result<(String, DocumentEncoding), XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(XmlError::Empty);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(XmlError::Utf16);
    }
    let (body, encoding) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => {
            // A BOM says UTF-8; a declaration saying otherwise is a contradiction.
            match declared_encoding(rest)? {
                None | Some(DocumentEncoding::Utf8) => (rest, DocumentEncoding::Utf8),
                Some(DocumentEncoding::ShiftJis) => {
                    return Err(XmlError::UnsupportedEncoding(
                        "Shift_JIS declared after a UTF-8 byte order mark".into(),
                    ))
                }
            }
        }
        // XML without a declared encoding is UTF-8 (XML 1.0 §4.3.3).
        None => (
            bytes,
            declared_encoding(bytes)?.unwrap_or(DocumentEncoding::Utf8),
        ),
    };
    let text = match encoding {
        DocumentEncoding::Utf8 => {
            std::str::from_utf8(body)
                .map(str::to_owned)
                .map_err(|e| XmlError::Malformed {
                    encoding: "UTF-8",
                    offset: e.valid_up_to(),
                })?
        }
        DocumentEncoding::ShiftJis => {
            let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
            let mut out = String::with_capacity(body.len() * 2);
            let (result, read) = decoder.decode_to_string_without_replacement(body, &mut out, true);
            match result {
                encoding_rs::DecoderResult::InputEmpty => out,
                _ => {
                    return Err(XmlError::Malformed {
                        encoding: "Shift_JIS",
                        offset: read,
                    })
                }
            }
        }
    };
    Ok((text, encoding))
}

/// The `encoding` of the XML declaration at the start of `bytes` (ASCII in both encodings
/// read), `None` without a declaration or without the pseudo-attribute.
fn declared_encoding(bytes: &[u8]) -> Result<Option<DocumentEncoding>, XmlError> {
    if !bytes.starts_with(b"<?xml") {
        return Ok(None);
    }
    let end = bytes
        .iter()
        .take(512)
        .position(|b| *b == b'>')
        .ok_or_else(|| XmlError::NotWellFormed("XML declaration is not closed".into()))?;
    let decl = String::from_utf8_lossy(&bytes[..end]);
    let Some(at) = decl.find("encoding") else {
        return Ok(None);
    };
    let rest = decl[at + "encoding".len()..].trim_start();
    let rest = rest
        .strip_prefix('=')
        .map(str::trim_start)
        .ok_or_else(|| XmlError::NotWellFormed("encoding without '='".into()))?;
    let quote = rest
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .ok_or_else(|| XmlError::NotWellFormed("encoding value not quoted".into()))?;
    let value: String = rest[1..].chars().take_while(|c| *c != quote).collect();
    DocumentEncoding::from_name(&value)
        .map(Some)
        .ok_or_else(|| XmlError::UnsupportedEncoding(value.chars().take(40).collect()))
}

/// Checks decoded text before serde sees it: no DTD or entity declaration, well-formed, the
/// root [`ROOT`], within the depth and element caps.
pub fn check_structure(text: &str, limits: &ReadLimits) -> Result<(), XmlError> {
    let upper = text.to_ascii_uppercase();
    for word in ["DOCTYPE", "ENTITY"] {
        if upper.contains(&format!("<!{word}")) {
            return Err(XmlError::Declaration(word));
        }
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut root_seen = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                if depth == 0 {
                    if root_seen {
                        return Err(XmlError::NotWellFormed("more than one root element".into()));
                    }
                    root_seen = true;
                    if e.name().as_ref() != ROOT {
                        return Err(XmlError::WrongRoot {
                            found: e.name().as_ref().chars().take(40).collect(),
                            expected: ROOT,
                        });
                    }
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > limits.max_depth {
                        return Err(XmlError::TooDeep {
                            limit: limits.max_depth,
                        });
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::DocType(_) => return Err(XmlError::Declaration("DOCTYPE")),
            Event::Text(ref t) if depth == 0 && !t.as_ref().trim_ascii().is_empty() => {
                return Err(XmlError::NotWellFormed(
                    "text outside the root element".into(),
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth > 0 {
        return Err(XmlError::Truncated(depth));
    }
    if !root_seen {
        return Err(XmlError::NotWellFormed("no root element".into()));
    }
    Ok(())
}

/// Reads a request file into `T` (the [`ROOT`] element's content): [`decode`],
/// [`check_structure`], then serde.
pub fn read_document<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &ReadLimits,
) -> Result<(T, DocumentEncoding), XmlError> {
    let (text, encoding) = decode(bytes, limits)?;
    check_structure(&text, limits)?;
    let value = quick_xml::de::from_str(&text).map_err(|e| XmlError::Schema(e.to_string()))?;
    Ok((value, encoding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        name: String,
        address: String,
    }

    fn doc(name: &str) -> Doc {
        Doc {
            name: name.into(),
            address: "東京都".into(),
        }
    }

    #[test]
    fn shift_jis_files_declare_themselves_and_mark_gaiji_by_element() {
        let out = write_document(&doc("𠮷田 <髙>"), DocumentEncoding::ShiftJis).expect("doc");
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&out.bytes);
        assert!(!bad);
        assert!(text.starts_with(
            "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\n<XmlMsg>"
        ));
        // 髙 is in CP932 (an NEC/IBM extension): kept. 𠮷 is not: marked.
        assert!(text.contains("<Name>●田 &lt;髙&gt;</Name>"), "{text}");
        assert_eq!(
            out.replaced,
            vec![Replacement {
                element: "Name".into(),
                count: 1
            }]
        );
        let utf8 = write_document(&doc("𠮷田"), DocumentEncoding::Utf8).expect("doc");
        assert!(utf8.replaced.is_empty());
        assert!(String::from_utf8(utf8.bytes)
            .expect("utf-8")
            .contains("<Name>𠮷田</Name>"));
    }

    #[test]
    fn what_is_written_reads_back_in_both_encodings() {
        for enc in [DocumentEncoding::ShiftJis, DocumentEncoding::Utf8] {
            let out = write_document(&doc("山田 & 花子"), enc).expect("doc");
            let (back, found): (Doc, _) =
                read_document(&out.bytes, &ReadLimits::default()).expect("read");
            assert_eq!(found, enc);
            assert_eq!(back, doc("山田 & 花子"));
        }
    }

    #[test]
    fn hostile_or_broken_input_is_a_typed_error() {
        let limits = ReadLimits::default();
        let read = |bytes: &[u8]| read_document::<Doc>(bytes, &limits).map(|_| ());
        let laughs = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;\">]><XmlMsg><Name>&b;</Name><Address/></XmlMsg>";
        assert_eq!(read(laughs), Err(XmlError::Declaration("DOCTYPE")));
        assert_eq!(
            read(b"<XmlMsg><!ENTITY x SYSTEM \"file:///etc/passwd\"></XmlMsg>"),
            Err(XmlError::Declaration("ENTITY"))
        );
        let deep = format!("<XmlMsg>{}", "<a>".repeat(10_000));
        assert_eq!(read(deep.as_bytes()), Err(XmlError::TooDeep { limit: 16 }));
        assert!(matches!(
            read(&vec![b' '; limits.max_bytes + 1]),
            Err(XmlError::TooLarge { .. })
        ));
        assert_eq!(
            read(b"<XmlMsg><Name>a</Name><Address>b"),
            Err(XmlError::Truncated(2))
        );
        assert!(matches!(
            read(b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?><XmlMsg/>"),
            Err(XmlError::UnsupportedEncoding(_))
        ));
        assert!(matches!(
            read(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><Name>\x82\xA0</Name></XmlMsg>"
            ),
            Err(XmlError::Malformed {
                encoding: "UTF-8",
                ..
            })
        ));
        assert!(matches!(
            read(
                b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><Name>\x82</Name></XmlMsg>"
            ),
            Err(XmlError::Malformed { .. })
        ));
        assert_eq!(read(b"\xFF\xFE<\0"), Err(XmlError::Utf16));
        assert!(read(b"\x00\x01\x02\x7f garbage").is_err());
        assert!(matches!(read(b"<Other/>"), Err(XmlError::WrongRoot { .. })));
        let many = format!(
            "<XmlMsg>{}</XmlMsg>",
            "<a/>".repeat(limits.max_elements + 1)
        );
        assert!(matches!(
            read(many.as_bytes()),
            Err(XmlError::TooManyElements { .. })
        ));
    }
}
