//! Engine test (issue 17): the generated stacks of `examples/minimal` and `examples/shop`,
//! production and development, run under a real dockerd with stand-in images built from
//! Debian packages, and the running stack is checked: every container running, healthy,
//! never restarted and without permission errors in its logs; every Prometheus target up
//! through the published 127.0.0.1 port with the generated login (401 without it); every
//! rule evaluated without error; Watchdog delivered to Alertmanager; the Grafana stand-in
//! reaching both datasources with the provisioned credentials.
//!
//! The work is done by `scripts/engine-test.sh` (tests/engine/run.py); this test runs it
//! with the obsgen built by cargo and reads its exit code: 0 pass, 77 skipped (no engine,
//! only outside CI), anything else a failure. What the stand-ins prove and what they
//! cannot: docs/engine.md. Under `CI=true` a missing engine fails the test.

use std::path::Path;
use std::process::Command;

#[test]
fn generated_stacks_run_under_a_real_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/engine-test.sh"))
        .env("OBSGEN_BIN", env!("CARGO_BIN_EXE_obsgen"))
        .current_dir(root)
        .output()
        .expect("running scripts/engine-test.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            assert!(
                stdout.contains("all passed") && !stdout.contains("FAIL"),
                "engine test exited 0 without passing every run:\n{stdout}"
            );
            eprintln!("{stdout}");
        }
        Some(77) => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
                "engine test skipped under CI=true:\n{stdout}{stderr}"
            );
            eprintln!(
                "\n!!!!!!!! SKIPPED: engine test: {} !!!!!!!!\n",
                stdout.trim()
            );
        }
        code => panic!("engine test failed (exit {code:?}):\n{stdout}\n--- log:\n{stderr}"),
    }
}
