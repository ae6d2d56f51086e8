//! Fuzz target `portal_pdf`: runs `onshi_desk::fuzzing::portal_pdf` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(init: onshi_desk_fuzz::init(), |data: &[u8]| {
    onshi_desk_fuzz::run(onshi_desk::fuzzing::portal_pdf, data)
});
