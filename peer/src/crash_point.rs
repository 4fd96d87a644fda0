//! Test seams: a debug build stops dead at a named point when `NODEPAIR_CRASH_AT` names it, so tests can check what a crash there leaves behind.
//!
//! Release builds compile these to nothing. The points name steps whose
//! order the keystore depends on (a key rotation's), where a `kill -9` from
//! outside could not be timed.

/// Aborts the process here when `NODEPAIR_CRASH_AT` is `point` (debug
/// builds only): no destructor runs, nothing more is written, as when the
/// machine loses power.
pub(crate) fn here(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("NODEPAIR_CRASH_AT").is_some_and(|at| at == point) {
        eprintln!("NODEPAIR_CRASH_AT={point}: stopping dead here, as a crash would");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
