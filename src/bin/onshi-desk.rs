//! The `onshi-desk` binary: a thin wrapper around [`onshi_desk::cli`].

fn main() -> std::process::ExitCode {
    onshi_desk::cli::main()
}
