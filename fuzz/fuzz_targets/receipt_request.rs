//! Fuzz target `receipt_request`: runs `onshi_desk::fuzzing::receipt_request` (see docs/fuzzing.md).
#![no_main]

libfuzzer_sys::fuzz_target!(init: onshi_desk_fuzz::init(), |data: &[u8]| {
    onshi_desk_fuzz::run(onshi_desk::fuzzing::receipt_request, data)
});
