fn main() -> std::process::ExitCode {
    obsgen::cli::main()
}
