//! The `obsgen` binary: everything lives in the library; see [`obsgen::cli`].

fn main() -> std::process::ExitCode {
    obsgen::cli::main()
}
