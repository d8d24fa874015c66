//! One handler for SIGINT, SIGTERM and SIGHUP (ctrlc with its `termination` feature)
//! for the whole process. A process can install a single ctrlc handler, so the
//! commands that must clean up when interrupted set their action here instead: the
//! wizard (restores the cursor, exits 130 with nothing written) and `generate`
//! (removes its temporary files, exits 130). The last action set wins.

use std::sync::{Mutex, Once};

type Action = Box<dyn Fn() + Send + 'static>;

static ACTION: Mutex<Option<Action>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Runs `action` on SIGINT, SIGTERM or SIGHUP (it should end the process; if it
/// returns, the process goes on).
pub fn on_interrupt(action: impl Fn() + Send + 'static) {
    *ACTION.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(action));
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let action = ACTION.lock().unwrap_or_else(|e| e.into_inner());
            match action.as_ref() {
                Some(run) => run(),
                None => std::process::exit(130),
            }
        });
    });
}
