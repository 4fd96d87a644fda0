//! Keeping secrets out of core dumps: the program writes none, and other processes of its user cannot read its memory.

/// Sets the core file size limit to zero (soft and hard, so nothing the
/// program runs can raise it) and, on Linux, marks the process not dumpable,
/// which also keeps same-user processes from attaching to it or reading its
/// `/proc/<pid>/mem`. Called first thing in `main`, before any key is loaded.
pub fn no_core_dumps() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        )?;
    }
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn after_it_no_core_can_be_written() {
        super::no_core_dumps().unwrap();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
        #[cfg(target_os = "linux")]
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }
}
