//! Structural checks on an untrusted PDF before `pdf-extract` is let loose on it.
//!
//! `pdf-extract` trusts the file: it follows every `Do` into the drawn XObject by plain
//! recursion (a form that draws itself overflows the stack, which aborts the process and
//! cannot be caught), redraws a form each time it is invoked (a fan-out of nested forms runs
//! for minutes), expands each ToUnicode `bfrange` into one map entry per code (a range of
//! 2^32 codes eats all memory), and `lopdf` inflates streams without a bound (a 4 MB flate
//! bomb becomes gigabytes, and object streams are inflated while the file is still loading).
//!
//! So the document is loaded with a filter that measures every stream's decoded size with a
//! bounded decoder before lopdf decodes it, and the loaded object graph is walked the way
//! `pdf-extract` will walk it, refusing what would overflow, spin or blow up. These checks
//! make the in-process parser safe to fuzz; the child process of [`super::sandbox`] with its
//! time and memory limits stays the backstop for whatever they do not foresee (the object
//! streams of an encrypted file, for one: lopdf decrypts and inflates them on a path that
//! skips the load filter, so they are measured only afterwards).

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Read;

use pdf_extract::content::Content;
use pdf_extract::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};

use super::portal_pdf::{ImportError, MAX_PAGES};

/// Decoded bytes one stream may have (an embedded Japanese font is a few MB).
pub const MAX_STREAM_DECODED: usize = 32 * 1024 * 1024;
/// Decoded bytes all the streams of a file may have together.
pub const MAX_TOTAL_DECODED: usize = 96 * 1024 * 1024;
/// How deep forms may nest (a form drawing a form …); real documents use one or two levels.
pub const MAX_FORM_DEPTH: usize = 8;
/// How many times forms may be drawn in all, counting each redraw (pdf-extract re-reads a form
/// every time it is drawn).
pub const MAX_FORM_INVOCATIONS: usize = 2_000;
/// Content-stream bytes interpreted in all, counting each redraw of a form.
pub const MAX_CONTENT_WORK: usize = 64 * 1024 * 1024;
/// Character codes one ToUnicode map may define by ranges (a CID font has at most 65 536).
pub const MAX_CMAP_RANGE_CODES: u64 = 2 * 65_536;
/// Array nesting in a ToUnicode map (its parser recurses per level).
pub const MAX_CMAP_NESTING: usize = 16;
/// Levels above a page in the page tree (real trees are a handful deep; pdf-extract climbs
/// them by recursion without noticing a loop).
pub const MAX_PAGE_TREE_DEPTH: usize = 32;
/// LZW turns one input byte into at most this many (a 12-bit code names at most 4 096 bytes);
/// lopdf's LZW decoder has no bound, so the worst case is what is budgeted.
const LZW_MAX_EXPANSION: usize = 4_096;

/// Decoded bytes still allowed, and the first refusal met.
struct Budget {
    remaining: usize,
    streams: usize,
    refusal: Option<ImportError>,
}

impl Budget {
    fn new() -> Self {
        Self {
            remaining: MAX_TOTAL_DECODED,
            streams: 0,
            refusal: None,
        }
    }

    /// Measures one stream; records the refusal (the first one wins) and says whether it fits.
    fn admit(&mut self, id: ObjectId, stream: &Stream) -> bool {
        self.streams += 1;
        if self.refusal.is_some() {
            return false;
        }
        let limit = MAX_STREAM_DECODED.min(self.remaining);
        match decoded_len_bounded(stream, limit) {
            Ok(len) => {
                self.remaining -= len;
                true
            }
            Err(Exceeded) => {
                self.refusal = Some(ImportError::TooMuchContent(format!(
                    "stream {} {} decodes to more than {limit} bytes (limits: {MAX_STREAM_DECODED} \
                     per stream, {MAX_TOTAL_DECODED} per file)",
                    id.0, id.1
                )));
                false
            }
        }
    }
}

thread_local! {
    /// The budget of the load in progress on this thread: lopdf's load filter is a plain `fn`
    /// with no state of its own (lopdf is built without rayon, so loading stays on this thread).
    static LOAD_BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// lopdf's load filter: runs on each object as read, before object streams are inflated.
/// A stream over budget is dropped, so lopdf never decodes it; its refusal is reported after.
fn measure_at_load(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object {
        let fits = LOAD_BUDGET.with(|b| match b.borrow_mut().as_mut() {
            Some(budget) => budget.admit(id, stream),
            None => true,
        });
        if !fits {
            return None;
        }
    }
    // lopdf uses the returned object for members of object streams and the argument for the
    // others, so both must stay whole (the copy is bounded by the file size).
    Some((id, object.clone()))
}

/// Loads the document with every stream's decoded size bounded, then checks the graph.
pub(crate) fn load_checked(bytes: &[u8]) -> Result<Document, ImportError> {
    LOAD_BUDGET.with(|b| *b.borrow_mut() = Some(Budget::new()));
    let loaded = Document::load_mem_with_options(bytes, LoadOptions::with_filter(measure_at_load));
    let budget = LOAD_BUDGET
        .with(|b| b.borrow_mut().take())
        .unwrap_or_else(Budget::new);
    if let Some(refusal) = budget.refusal {
        return Err(refusal);
    }
    let doc = loaded.map_err(|e| match e {
        pdf_extract::Error::Decryption(_) => ImportError::Encrypted,
        other => ImportError::Malformed(other.to_string()),
    })?;
    if budget.streams == 0 {
        // lopdf skips the filter for encrypted files (it decrypts them on its own path):
        // measure the decrypted streams now, before anything decodes them.
        let mut budget = Budget::new();
        for (&id, object) in &doc.objects {
            if let Object::Stream(stream) = object {
                budget.admit(id, stream);
            }
        }
        if let Some(refusal) = budget.refusal {
            return Err(refusal);
        }
    }
    Ok(doc)
}

/// More decoded bytes than allowed.
#[derive(Debug)]
struct Exceeded;

/// The length of a stream as lopdf would decode it (`Stream::decompressed_content`, or the raw
/// bytes where it gives up), never holding more than `limit` bytes.
fn decoded_len_bounded(stream: &Stream, limit: usize) -> Result<usize, Exceeded> {
    let raw = stream.content.len();
    if raw > limit {
        return Err(Exceeded);
    }
    let Ok(filters) = stream.filters() else {
        return Ok(raw);
    };
    let mut data: Option<Vec<u8>> = None;
    for filter in filters {
        let input = data.as_deref().unwrap_or(&stream.content);
        let output = match filter {
            b"FlateDecode" => inflate_bounded(input, limit)?,
            b"LZWDecode" => {
                if input.len().saturating_mul(LZW_MAX_EXPANSION) > limit {
                    return Err(Exceeded);
                }
                decode_with_lopdf(input, "LZWDecode")
            }
            b"ASCII85Decode" => decode_with_lopdf(input, "ASCII85Decode"),
            // lopdf stops at a filter it does not know and the raw bytes are used.
            _ => return Ok(raw),
        };
        if output.len() > limit {
            return Err(Exceeded);
        }
        data = Some(output);
    }
    Ok(data.map_or(raw, |d| d.len()).max(raw))
}

/// One filter, decoded by lopdf itself (only for filters whose output is already bounded).
fn decode_with_lopdf(input: &[u8], filter: &str) -> Vec<u8> {
    let mut dict = Dictionary::new();
    dict.set("Filter", Object::Name(filter.as_bytes().to_vec()));
    Stream::new(dict, input.to_vec())
        .decompressed_content()
        .unwrap_or_default()
}

/// Inflates as lopdf does (zlib, else raw deflate after the 2-byte header) but stops one byte
/// past `limit`.
fn inflate_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, Exceeded> {
    let cap = limit as u64 + 1;
    let mut out = Vec::new();
    let zlib = flate2::read::ZlibDecoder::new(input)
        .take(cap)
        .read_to_end(&mut out);
    if zlib.is_err() && out.is_empty() && input.len() > 2 {
        let _ = flate2::read::DeflateDecoder::new(&input[2..])
            .take(cap)
            .read_to_end(&mut out);
    }
    if out.len() > limit {
        Err(Exceeded)
    } else {
        Ok(out)
    }
}

/// The bytes `pdf-extract` interprets for a content stream (its `get_contents`).
fn contents_of(stream: &Stream) -> Vec<u8> {
    if stream.filters().is_ok() {
        stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone())
    } else {
        stream.content.clone()
    }
}

/// Follows references (a bounded number of hops) to the object itself.
fn resolve<'a>(doc: &'a Document, object: &'a Object) -> (Option<ObjectId>, &'a Object) {
    match doc.dereference(object) {
        Ok((id, object)) => (id, object),
        Err(_) => (None, &Object::Null),
    }
}

fn dict_entry<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key).ok().map(|o| resolve(doc, o).1)
}

/// What has been drawn so far on the pages read.
struct Walk<'a> {
    doc: &'a Document,
    invocations: usize,
    work: usize,
    /// The forms being drawn, outermost first: a form met again here draws itself.
    stack: Vec<ObjectId>,
}

impl<'a> Walk<'a> {
    fn interpret(&mut self, content: &[u8], resources: &'a Dictionary) -> Result<(), ImportError> {
        self.work = self.work.saturating_add(content.len());
        if self.work > MAX_CONTENT_WORK {
            return Err(ImportError::TooComplex(format!(
                "more than {MAX_CONTENT_WORK} bytes of page content to interpret (forms redrawn)"
            )));
        }
        // Content pdf-extract cannot decode makes it give up on its own (a malformed file).
        let Ok(content) = Content::decode(content) else {
            return Ok(());
        };
        for op in content.operations.iter().filter(|op| op.operator == "Do") {
            let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                continue;
            };
            let Some(Object::Dictionary(xobjects)) = dict_entry(self.doc, resources, b"XObject")
            else {
                continue;
            };
            let Ok(entry) = xobjects.get(name) else {
                continue;
            };
            let (id, object) = resolve(self.doc, entry);
            let Object::Stream(form) = object else {
                continue;
            };
            self.invocations += 1;
            if self.invocations > MAX_FORM_INVOCATIONS {
                return Err(ImportError::TooComplex(format!(
                    "more than {MAX_FORM_INVOCATIONS} XObject invocations"
                )));
            }
            if let Some(id) = id.filter(|id| self.stack.contains(id)) {
                return Err(ImportError::TooComplex(format!(
                    "XObject {} {} draws itself (a cycle of forms)",
                    id.0, id.1
                )));
            }
            if self.stack.len() >= MAX_FORM_DEPTH {
                return Err(ImportError::TooComplex(format!(
                    "XObjects nested deeper than {MAX_FORM_DEPTH} levels"
                )));
            }
            // As pdf-extract: the form's own resources, else the drawing content's.
            let inner = match dict_entry(self.doc, &form.dict, b"Resources") {
                Some(Object::Dictionary(d)) => d,
                _ => resources,
            };
            self.stack.push(id.unwrap_or((0, 0)));
            let result = self.interpret(&contents_of(form), inner);
            self.stack.pop();
            result?;
        }
        Ok(())
    }
}

/// Refuses a page whose `/Parent` chain loops or climbs too high: pdf-extract follows it by
/// recursion to find inherited entries (MediaBox, Resources) and would overflow the stack.
fn check_parent_chain(doc: &Document, page: &Dictionary) -> Result<(), ImportError> {
    let mut node = page;
    for _ in 0..MAX_PAGE_TREE_DEPTH {
        // The same steps as pdf-extract: a direct reference to a dictionary, else the end.
        let parent = node
            .get(b"Parent")
            .and_then(Object::as_reference)
            .and_then(|id| doc.get_dictionary(id));
        match parent {
            Ok(parent) => node = parent,
            Err(_) => return Ok(()),
        }
    }
    Err(ImportError::TooComplex(format!(
        "a page's /Parent chain loops or is deeper than {MAX_PAGE_TREE_DEPTH} levels"
    )))
}

/// A page's resources as pdf-extract finds them: its own, else inherited from the page tree.
fn page_resources<'a>(doc: &'a Document, page: &'a Dictionary) -> Option<&'a Dictionary> {
    let mut node = page;
    for _ in 0..MAX_PAGE_TREE_DEPTH {
        if let Some(Object::Dictionary(d)) = dict_entry(doc, node, b"Resources") {
            return Some(d);
        }
        match dict_entry(doc, node, b"Parent") {
            Some(Object::Dictionary(parent)) => node = parent,
            _ => return None,
        }
    }
    None
}

/// Walks the pages that will be read the way pdf-extract draws them.
pub(crate) fn check_graph(doc: &Document) -> Result<(), ImportError> {
    check_to_unicode_maps(doc)?;
    let empty = Dictionary::new();
    let mut walk = Walk {
        doc,
        invocations: 0,
        work: 0,
        stack: Vec::new(),
    };
    for (_, &page_id) in doc.get_pages().iter().take(MAX_PAGES as usize) {
        let Ok(page) = doc.get_dictionary(page_id) else {
            continue;
        };
        check_parent_chain(doc, page)?;
        let resources = page_resources(doc, page).unwrap_or(&empty);
        let Ok(content) = doc.get_page_content(page_id) else {
            continue;
        };
        walk.interpret(&content, resources)?;
    }
    Ok(())
}

/// Every ToUnicode map (and CMap-stream encoding) in the file (fonts may sit anywhere, also
/// inline in resources).
fn check_to_unicode_maps(doc: &Document) -> Result<(), ImportError> {
    let mut seen = HashSet::new();
    for object in doc.objects.values() {
        // Direct objects nest; an explicit stack keeps hostile nesting off the call stack.
        let mut pending = vec![object];
        while let Some(object) = pending.pop() {
            let dict = match object {
                Object::Dictionary(d) => d,
                Object::Stream(s) => &s.dict,
                Object::Array(items) => {
                    pending.extend(items.iter());
                    continue;
                }
                _ => continue,
            };
            for (key, value) in dict.iter() {
                // A Type0 font's /Encoding may be a CMap stream too, read by the same parser.
                if key.as_slice() == b"ToUnicode" || key.as_slice() == b"Encoding" {
                    if let (id, Object::Stream(cmap)) = resolve(doc, value) {
                        if id.is_none_or(|id| seen.insert(id)) {
                            check_cmap(&contents_of(cmap))?;
                        }
                        continue;
                    }
                }
                pending.push(value);
            }
        }
    }
    Ok(())
}

/// A token of a CMap, as far as ranges need.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Code(u32),
    Open,
    Close,
    Word(&'a [u8]),
}

/// Splits a CMap into codes (hex and literal strings, as the CMap parser reads them: the last
/// four bytes, big-endian), brackets and words; anything else is skipped.
fn cmap_tokens(s: &[u8]) -> Vec<Token<'_>> {
    let code =
        |bytes: &mut dyn Iterator<Item = u8>| bytes.fold(0u32, |c, b| (c << 8) | u32::from(b));
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                while i < s.len() && s[i] != b'\n' && s[i] != b'\r' {
                    i += 1;
                }
            }
            b'<' if s.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if s.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                let end = s[i..]
                    .iter()
                    .position(|&b| b == b'>')
                    .map_or(s.len(), |p| i + p);
                let digits: Vec<u8> = s[i + 1..end]
                    .iter()
                    .filter_map(|&b| (b as char).to_digit(16).map(|d| d as u8))
                    .collect();
                let mut bytes = digits
                    .chunks(2)
                    .map(|p| p[0] << 4 | p.get(1).copied().unwrap_or(0));
                out.push(Token::Code(code(&mut bytes)));
                i = end + 1;
            }
            b'(' => {
                let (mut depth, mut j, mut bytes) = (1, i + 1, Vec::new());
                while j < s.len() && depth > 0 {
                    match s[j] {
                        b'\\' => {
                            j += 1;
                            bytes.extend(s.get(j));
                        }
                        b'(' => {
                            depth += 1;
                            bytes.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                bytes.push(b')');
                            }
                        }
                        b => bytes.push(b),
                    }
                    j += 1;
                }
                out.push(Token::Code(code(&mut bytes.into_iter())));
                i = j;
            }
            b'[' => {
                out.push(Token::Open);
                i += 1;
            }
            b']' => {
                out.push(Token::Close);
                i += 1;
            }
            b if b.is_ascii_alphanumeric() || b == b'/' || b == b'.' || b == b'-' => {
                let start = i;
                while i < s.len()
                    && (s[i].is_ascii_alphanumeric() || matches!(s[i], b'/' | b'.' | b'-' | b'_'))
                {
                    i += 1;
                }
                out.push(Token::Word(&s[start..i]));
            }
            _ => i += 1,
        }
    }
    out
}

/// Refuses a ToUnicode map whose ranges define more codes than any font has, or whose arrays
/// nest deeper than its parser's recursion can take.
fn check_cmap(cmap: &[u8]) -> Result<(), ImportError> {
    let tokens = cmap_tokens(cmap);
    let mut depth = 0usize;
    for t in &tokens {
        match t {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_CMAP_NESTING {
            return Err(ImportError::TooComplex(format!(
                "ToUnicode map nests arrays deeper than {MAX_CMAP_NESTING} levels"
            )));
        }
    }
    let mut codes: u64 = 0;
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] != Token::Word(b"beginbfrange") {
            i += 1;
            continue;
        }
        i += 1;
        while let (Some(Token::Code(lo)), Some(Token::Code(hi))) =
            (tokens.get(i), tokens.get(i + 1))
        {
            if hi >= lo {
                codes += u64::from(hi - lo) + 1;
            }
            if codes > MAX_CMAP_RANGE_CODES {
                return Err(ImportError::TooComplex(format!(
                    "ToUnicode ranges define more than {MAX_CMAP_RANGE_CODES} character codes"
                )));
            }
            i += 2;
            match tokens.get(i) {
                Some(Token::Code(_)) => i += 1,
                Some(Token::Open) => {
                    while i < tokens.len() && tokens[i] != Token::Close {
                        i += 1;
                    }
                    i += 1;
                }
                _ => break,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmap_ranges_are_counted_as_the_cmap_parser_reads_them() {
        let ok = b"1 beginbfrange <0000> <00FF> <0041> endbfrange 1 beginbfrange <10> <12> [<0041> <0042> <0043>] endbfrange";
        assert!(check_cmap(ok).is_ok());
        let huge = b"1 beginbfrange <00000000> <FFFFFFFF> <00000041> endbfrange";
        assert_eq!(check_cmap(huge).expect_err("huge").kind(), "too_complex");
        // Two full ranges (one in literal strings) are all codes there are; one more is too many.
        let many = b"3 beginbfrange <0000> <FFFF> <0041> (\x00\x00) (\xff\xff) <0041> <00> <01> <0041> endbfrange";
        assert_eq!(check_cmap(many).expect_err("many").kind(), "too_complex");
        let deep = [b'['; 100];
        assert_eq!(check_cmap(&deep).expect_err("deep").kind(), "too_complex");
        assert!(check_cmap(b"% only a comment <00000000> <FFFFFFFF>").is_ok());
    }

    #[test]
    fn inflation_stops_at_the_limit() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![b' '; 1 << 20]).expect("compress");
        let bomb = z.finish().expect("compress");
        assert!(inflate_bounded(&bomb, 1000).is_err());
        assert_eq!(
            inflate_bounded(&bomb, 1 << 20).expect("fits").len(),
            1 << 20
        );
    }
}
